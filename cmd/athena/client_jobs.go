package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/athena-go/athena/internal/wsclient"
)

// jobCommands are "athena jobs ...": deferred jobs over the socket
// (deferred.get, deferred.subscribe, deferred.cancel, deferred.requeue).
var jobCommands = map[string]subcommand{
	"list":    {"list your deferred jobs, newest first (every job with the admin key)", cmdJobsList},
	"get":     {jobSummaries["get"], jobVerb("get", "deferred.get")},
	"watch":   {"print a job's status changes until it ends (exit 1 if it failed)", cmdJobsWatch},
	"cancel":  {jobSummaries["cancel"], jobVerb("cancel", "deferred.cancel")},
	"requeue": {jobSummaries["requeue"], jobVerb("requeue", "deferred.requeue")},
}

var jobSummaries = map[string]string{
	"get":     "show a job: status, attempts, times, error, result",
	"cancel":  "cancel a queued or running job",
	"requeue": "run a completed or failed job again",
}

func cmdJobs(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	return runGroup(ctx, "jobs", "athena jobs watch 0845dc4b862c660528bb38af18860304", jobCommands, args, stdout, stderr, getenv)
}

// cmdJobsList lists the caller's deferred jobs (GET /gateway/deferred): a
// key's own jobs, every job with the admin key, or without a key the
// client's jobs deferred without one.
func cmdJobsList(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var f clientFlags
	fs := newClientFlagSet(clientCommand{
		name: "jobs list", args: "[flags]",
		summary: "List your deferred jobs, newest first: the jobs your API key deferred (every job with\n" +
			"--admin-key), or without a key the client's jobs deferred without one.",
		examples: []string{"athena jobs list", "athena jobs list --status failed --limit 10 --format json"},
	}, stderr, &f, true)
	status := fs.String("status", "", "only jobs in this state: queued, running, completed, failed or canceled")
	limit := fs.Int("limit", 50, "at most this many jobs (up to 1000)")
	if _, err := parseClientFlags(fs, args, 0, 0); err != nil {
		return err
	}
	format, err := pickFormat(fs, f.format, stdout)
	if err != nil {
		return err
	}
	s, err := f.resolve(getenv)
	if err != nil {
		return err
	}
	q := url.Values{}
	if *status != "" {
		q.Set("status", *status)
	}
	q.Set("limit", strconv.Itoa(*limit))
	headers := map[string]string{}
	if s.Client != "" {
		headers["X-Athena-Client"] = s.Client
	}
	key := s.APIKey
	if s.AdminKey != "" {
		key = s.AdminKey
	}
	env, err := restCall(ctx, s.URL, http.MethodGet, "/gateway/deferred?"+q.Encode(), key, headers, nil)
	if err != nil {
		return err
	}
	return printData(stdout, format, env.Data)
}

// jobVerb is a verb that sends one deferred.* frame and prints the job.
func jobVerb(verb, action string) func(context.Context, []string, io.Writer, io.Writer, func(string) string) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
		var f clientFlags
		fs := newClientFlagSet(clientCommand{
			name: "jobs " + verb, args: "[flags] JOB_ID",
			summary:  jobSummaries[verb] + " (" + action + " over the socket).",
			examples: []string{"athena jobs " + verb + " 0845dc4b862c660528bb38af18860304 --format json"},
		}, stderr, &f, true)
		pos, err := parseClientFlags(fs, args, 1, 1)
		if err != nil {
			return err
		}
		format, err := pickFormat(fs, f.format, stdout)
		if err != nil {
			return err
		}
		s, err := f.resolve(getenv)
		if err != nil {
			return err
		}
		c, err := dial(ctx, s)
		if err != nil {
			return err
		}
		defer c.Close()
		reply, err := c.Call(ctx, wsclient.Request{Action: action, ClientName: s.Client, Body: map[string]string{"request_id": pos[0]}})
		if err != nil {
			return err
		}
		return printValue(stdout, format, reply.Data)
	}
}

// jobState is the part of a job "jobs watch" reads.
type jobState struct {
	RequestID string          `json:"request_id"`
	Status    string          `json:"status"`
	Attempts  int             `json:"attempts"`
	Error     string          `json:"error"`
	Result    json.RawMessage `json:"result"`
}

func (j *jobState) terminal() bool {
	return j.Status == "completed" || j.Status == "failed" || j.Status == "canceled"
}

// cmdJobsWatch subscribes to a job and prints each status until it ends;
// then, in a table, the result's rows.
func cmdJobsWatch(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var f clientFlags
	fs := newClientFlagSet(clientCommand{
		name: "jobs watch", args: "[flags] JOB_ID",
		summary: "Subscribe to a deferred job (deferred.subscribe) and print its status as it changes, until it\n" +
			"completes, fails or is canceled. Table output prints one line per status, then the result;\n" +
			"json/ndjson print every job state. Exit code 1 when the job failed or was canceled.",
		examples: []string{"athena jobs watch 0845dc4b862c660528bb38af18860304"},
	}, stderr, &f, true)
	pos, err := parseClientFlags(fs, args, 1, 1)
	if err != nil {
		return err
	}
	format, err := pickFormat(fs, f.format, stdout)
	if err != nil {
		return err
	}
	s, err := f.resolve(getenv)
	if err != nil {
		return err
	}
	c, err := dial(ctx, s)
	if err != nil {
		return err
	}
	defer c.Close()
	var last jobState
	err = c.Do(ctx, wsclient.Request{Action: "deferred.subscribe", ClientName: s.Client, Body: map[string]string{"request_id": pos[0]}}, func(fr *wsclient.Frame) (bool, error) {
		if err := fr.Err(); err != nil {
			return true, err
		}
		if fr.Type != wsclient.TypeReply && fr.Type != wsclient.TypeEvent {
			return false, nil
		}
		var j jobState
		if err := json.Unmarshal(fr.Data, &j); err != nil {
			return true, fmt.Errorf("decode job: %w", err)
		}
		last = j
		if format == formatTable || format == formatCSV {
			fmt.Fprintf(stdout, "%s  %s  %s (attempts %d)\n", time.Now().Format(time.TimeOnly), j.RequestID, j.Status, j.Attempts)
		} else if err := printValue(stdout, formatNDJSON, fr.Data); err != nil {
			return true, err
		}
		return j.terminal(), nil
	})
	if err != nil {
		return err
	}
	if (format == formatTable || format == formatCSV) && len(last.Result) > 0 {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(last.Result, &env) == nil && len(env.Data) > 0 {
			if err := printData(stdout, format, env.Data); err != nil {
				return err
			}
		}
	}
	if last.Status != "completed" {
		if last.Error != "" {
			return fmt.Errorf("job %s %s: %s", last.RequestID, last.Status, last.Error)
		}
		return fmt.Errorf("job %s %s", last.RequestID, last.Status)
	}
	return nil
}
