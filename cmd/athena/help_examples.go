package main

// serverExamples are the Examples of the server-side commands' --help,
// by command.
var serverExamples = map[string]string{
	"serve": "  athena serve                          # no config: 127.0.0.1:4052, embedded SQLite, client \"local\"\n" +
		"  athena serve --config /etc/athena/config.yaml --port 8080\n" +
		"  athena serve --cpu-profile cpu.pprof   # diagnostics: go tool pprof -top cpu.pprof after it exits\n",
	"migrate": "  athena migrate --config /etc/athena/config.yaml\n",
}
