package awsfake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

type logEvent struct {
	ts  time.Time
	msg string
}

func (s *Server) createLogGroup(body []byte) (any, error) {
	return map[string]any{}, nil
}

// getLogEvents pages forward with tokens "f/N" (the index of the next
// event). Like CloudWatch Logs, at the end of a stream it hands back the
// token it was given, so a reader must stop on a repeated token.
func (s *Server) getLogEvents(body []byte) (any, error) {
	var in struct {
		Group         string `json:"logGroupName"`
		Stream        string `json:"logStreamName"`
		NextToken     string `json:"nextToken"`
		StartFromHead bool   `json:"startFromHead"`
		Limit         int    `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Group == "" || in.Stream == "" {
		return nil, clientErr("InvalidParameterException", "logGroupName and logStreamName are required")
	}
	// Tasks write their logs lazily: bring every task up to date first.
	for _, t := range s.tasks {
		s.state(t)
	}
	events, ok := s.logs[in.Group+"\x00"+in.Stream]
	if !ok {
		return nil, clientErr("ResourceNotFoundException", "The specified log stream does not exist.")
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(in.NextToken, "f/"), "b/"))
		if err != nil || n < 0 || n > len(events) {
			return nil, clientErr("InvalidParameterException", "The specified nextToken is invalid.")
		}
		start = n
	} else if !in.StartFromHead {
		start = len(events) // without startFromHead the newest events come first; we only page forward
		if start > 0 {
			start--
		}
	}
	limit := in.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	end := start + limit
	if end > len(events) {
		end = len(events)
	}
	out := []any{}
	for _, e := range events[start:end] {
		out = append(out, map[string]any{"timestamp": e.ts.UnixMilli(), "message": e.msg, "ingestionTime": e.ts.UnixMilli()})
	}
	return map[string]any{
		"events":            out,
		"nextForwardToken":  fmt.Sprintf("f/%d", end),
		"nextBackwardToken": fmt.Sprintf("b/%d", start),
	}, nil
}

func (s *Server) describeLogStreams(body []byte) (any, error) {
	var in struct {
		Group  string `json:"logGroupName"`
		Prefix string `json:"logStreamNamePrefix"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	streams := []any{}
	for key := range s.logs {
		group, stream, _ := strings.Cut(key, "\x00")
		if group == in.Group && strings.HasPrefix(stream, in.Prefix) {
			streams = append(streams, map[string]any{"logStreamName": stream, "arn": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", s.region, s.account, group, stream)})
		}
	}
	return map[string]any{"logStreams": streams}, nil
}
