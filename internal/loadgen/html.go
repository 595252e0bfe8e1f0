package loadgen

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained HTML page: the table,
// then a latency histogram per cell as inline SVG (log-scaled time axis,
// p50 and p99 marked). It loads nothing from anywhere.
func (r *Report) WriteHTML(w io.Writer) error {
	var table strings.Builder
	if err := r.writeTable(&table); err != nil {
		return err
	}
	type chart struct {
		Title string
		SVG   template.HTML
	}
	var charts []chart
	for _, c := range r.Cells {
		via := c.Via
		if c.Gateway != "" {
			via += " (" + c.Gateway + ")"
		}
		charts = append(charts, chart{
			Title: fmt.Sprintf("%s · %s · %d conns × %d in flight · %s req/s · p50 %s · p99 %s · CPU per request: gateway %s, database %s, client %s · load %.2f",
				c.Scenario, via, c.Sockets, c.InFlight, fmtRate(c.Throughput), fmtDur(time.Duration(c.P50)), fmtDur(time.Duration(c.P99)),
				fmtMicros(c.GatewayCPU), fmtMicros(c.DatabaseCPU), fmtMicros(c.ClientCPU), c.Load),
			SVG: histogramSVG(c),
		})
	}
	err := reportPage.Execute(w, struct {
		R           *Report
		Table       string
		Charts      []chart
		ProfileSVG  template.HTML
		Attribution string
	}{r, table.String(), charts, profileSVG(r.Profiles), ProfileAttribution})
	if err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// profileSVG draws each category's share of the profiled gateways' CPU
// as horizontal bars, one per gateway (new blue, baseline grey).
func profileSVG(ps []*Profile) template.HTML {
	if len(ps) == 0 {
		return ""
	}
	const W, label, bar, gap = 640.0, 190.0, 12.0, 8.0
	colors := []string{"#4a7bd0", "#999"}
	rowH := float64(len(ps))*bar + gap
	H := rowH*float64(len(ProfileCategories)) + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img">`, W, H, W, H)
	for j, p := range ps {
		fmt.Fprintf(&b, `<rect x="%.0f" y="2" width="10" height="10" fill="%s"/><text x="%.0f" y="11" font-size="11">%s</text>`,
			label+float64(j)*120, colors[j%len(colors)], label+float64(j)*120+14, template.HTMLEscapeString(p.Gateway))
	}
	peak := 0.0
	for _, p := range ps {
		for _, c := range p.Categories {
			peak = max(peak, c.Share)
		}
	}
	peak = max(peak, 0.01)
	for i, name := range ProfileCategories {
		y := 20 + float64(i)*rowH
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11" text-anchor="end">%s</text>`, label-6, y+float64(len(ps))*bar/2+4, template.HTMLEscapeString(name))
		for j, p := range ps {
			c := p.Categories[i]
			w := (W - label - 110) * c.Share / peak
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="%s"/><text x="%.1f" y="%.1f" font-size="10" fill="#444">%.1f%% · %s/req</text>`,
				label, y+float64(j)*bar, max(w, 0.5), bar-1, colors[j%len(colors)], label+w+4, y+float64(j)*bar+bar-2, 100*c.Share, fmtMicros(c.MicrosPerRequest))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // numbers, fixed strings and escaped names only
}

// histogramSVG draws c's histogram bins as bars.
func histogramSVG(c Cell) template.HTML {
	const W, H, pad = 640.0, 160.0, 24.0
	bins := c.Histogram
	if len(bins) == 0 {
		return ""
	}
	var peak uint64
	for _, b := range bins {
		peak = max(peak, b.Count)
	}
	lo, hi := math.Log(float64(max(bins[0].Lo, 1))), math.Log(float64(max(bins[len(bins)-1].Hi, 2)))
	if hi <= lo {
		hi = lo + 1
	}
	x := func(d time.Duration) float64 {
		return pad + (W-2*pad)*(math.Log(float64(max(d, 1)))-lo)/(hi-lo)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img">`, W, H+pad, W, H+pad)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/>`, pad, H, W-pad, H)
	for _, bin := range bins {
		if bin.Count == 0 {
			continue
		}
		h := (H - pad) * float64(bin.Count) / float64(peak)
		x0, x1 := x(bin.Lo), x(bin.Hi)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4a7bd0"><title>%s–%s: %d</title></rect>`,
			x0, H-h, math.Max(x1-x0-0.5, 0.5), h, fmtDur(bin.Lo), fmtDur(bin.Hi), bin.Count)
	}
	for _, m := range []struct {
		name  string
		d     time.Duration
		color string
	}{{"p50", time.Duration(c.P50), "#2a2"}, {"p99", time.Duration(c.P99), "#d33"}} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s" stroke-dasharray="3,2"/><text x="%.1f" y="%.0f" font-size="10" fill="%s">%s %s</text>`,
			x(m.d), pad/2, x(m.d), H, m.color, x(m.d)+2, pad/2+8, m.color, m.name, fmtDur(m.d))
	}
	// Axis labels at the ends and the geometric middle.
	for _, d := range []time.Duration{bins[0].Lo, time.Duration(math.Exp((lo + hi) / 2)), bins[len(bins)-1].Hi} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" text-anchor="middle" fill="#444">%s</text>`, x(d), H+14, fmtDur(d))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and fixed strings only
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{"pct": func(f float64) float64 { return 100 * f }}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>athena bench {{.R.Date.Format "2006-01-02 15:04"}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}
figure{margin:1em 0}figcaption{font-size:13px;margin-bottom:4px}
td{text-align:right;padding:0 .6em;font-size:12px}code{font-size:12px}
</style></head><body>
<h1>athena bench</h1>
<p>{{.R.Date.Format "2006-01-02 15:04 UTC"}} · gateway {{.R.Gateway}} · {{.R.Machine.CPUs}} CPUs · {{.R.Machine.OS}} · {{.R.Machine.Go}}.
Throughput is requests completed per second with every reply checked; latencies come from a log-linear histogram (0.8% resolution);
"vs pgx" is the gateway's throughput over pgx's at the same concurrency, run in alternating rounds.
CPU per request is user+system time of the gateway process, the PostgreSQL server and the load generator over the cell's requests:
unlike throughput, it means the same on a busy machine. The load average is the machine's at the end of each cell.</p>
<pre>{{.Table}}</pre>
{{if .R.Profiles}}<h2>Where the gateway's CPU went</h2>
<p>From a CPU profile of each gateway process over the whole run{{range .R.Profiles}}; {{.Gateway}}: {{printf "%.2f" .CPUSeconds}} s of CPU in {{.Samples}} samples{{if .File}} ({{.File}}){{end}}{{end}}.
Share of the samples per category, and CPU per request (over every request the gateway answered, warm-ups included). The attribution: {{.Attribution}}.</p>
{{.ProfileSVG}}
{{range .R.Profiles}}<h3>{{.Gateway}} gateway: top functions</h3>
<table><tr><th>flat</th><th>cum</th><th style="text-align:left">by flat share</th></tr>
{{range .TopFlat}}<tr><td>{{printf "%.1f%%" (pct .Flat)}}</td><td>{{printf "%.1f%%" (pct .Cum)}}</td><td><code>{{.Function}}</code></td></tr>
{{end}}<tr><th>flat</th><th>cum</th><th style="text-align:left">by cumulative share</th></tr>
{{range .TopCum}}<tr><td>{{printf "%.1f%%" (pct .Flat)}}</td><td>{{printf "%.1f%%" (pct .Cum)}}</td><td><code>{{.Function}}</code></td></tr>
{{end}}</table>
{{end}}{{end}}<h2>Latency histograms</h2>
{{range .Charts}}<figure><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>
{{end}}</body></html>
`))
