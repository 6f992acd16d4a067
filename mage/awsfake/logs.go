package awsfake

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

type logEvent struct {
	ts  time.Time
	msg string
}

var logGroupRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)

func (s *Server) createLogGroup(body []byte) (any, error) {
	var in struct {
		Group string `json:"logGroupName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !logGroupRE.MatchString(in.Group) {
		return nil, clientErr("InvalidParameterException", "1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", in.Group)
	}
	if _, ok := s.logGroups[in.Group]; ok {
		return nil, clientErr("ResourceAlreadyExistsException", "The specified log group already exists")
	}
	s.logGroups[in.Group] = s.now()
	return map[string]any{}, nil
}

func (s *Server) describeLogGroups(body []byte) (any, error) {
	var in struct {
		Prefix    string `json:"logGroupNamePrefix"`
		Limit     *int   `json:"limit"`
		NextToken string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range s.logGroups {
		if strings.HasPrefix(name, in.Prefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	page, next, err := paginate(names, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	groups := []any{}
	for _, name := range page {
		groups = append(groups, map[string]any{"logGroupName": name, "creationTime": s.logGroups[name].UnixMilli(),
			"arn": s.logArn(name, "") + ":*", "logGroupArn": s.logArn(name, ""), "storedBytes": 0, "metricFilterCount": 0})
	}
	out := map[string]any{"logGroups": groups}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// pageLimit reads a limit parameter (1..max, default max).
func pageLimit(limit *int, maxLimit int) (int, error) {
	if limit == nil {
		return maxLimit, nil
	}
	if *limit < 1 || *limit > maxLimit {
		return 0, clientErr("InvalidParameterException", "limit must be between 1 and %d.", maxLimit)
	}
	return *limit, nil
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
	if in.Limit < 0 || in.Limit > 10000 {
		return nil, clientErr("InvalidParameterException", "limit must be between 1 and 10000.")
	}
	if _, ok := s.logGroups[in.Group]; !ok {
		return nil, clientErr("ResourceNotFoundException", "The specified log group does not exist.")
	}
	// Tasks write their logs lazily: bring every task up to date first.
	for _, t := range s.tasks {
		s.state(t)
	}
	events, ok := s.logs[in.Group+"\x00"+in.Stream]
	if !ok {
		return nil, clientErr("ResourceNotFoundException", "The specified log stream does not exist.")
	}
	limit := in.Limit
	if limit == 0 {
		limit = 10000
	}
	// Tokens are "f/N" (read forward from event N) and "b/N" (read the
	// events before N). Without a token, startFromHead reads the oldest
	// page, else the newest; at either end the same token comes back.
	var start, end int
	switch {
	case strings.HasPrefix(in.NextToken, "f/"):
		n, err := strconv.Atoi(in.NextToken[2:])
		if err != nil || n < 0 || n > len(events) {
			return nil, clientErr("InvalidParameterException", "The specified nextToken is invalid.")
		}
		start, end = n, min(n+limit, len(events))
	case strings.HasPrefix(in.NextToken, "b/"):
		n, err := strconv.Atoi(in.NextToken[2:])
		if err != nil || n < 0 || n > len(events) {
			return nil, clientErr("InvalidParameterException", "The specified nextToken is invalid.")
		}
		start, end = max(n-limit, 0), n
	case in.NextToken != "":
		return nil, clientErr("InvalidParameterException", "The specified nextToken is invalid.")
	case in.StartFromHead:
		start, end = 0, min(limit, len(events))
	default:
		start, end = max(len(events)-limit, 0), len(events)
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
		Group     string `json:"logGroupName"`
		Prefix    string `json:"logStreamNamePrefix"`
		Limit     *int   `json:"limit"`
		NextToken string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, ok := s.logGroups[in.Group]; !ok {
		return nil, clientErr("ResourceNotFoundException", "The specified log group does not exist.")
	}
	limit, err := pageLimit(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	var names []string
	for key := range s.logs {
		group, stream, _ := strings.Cut(key, "\x00")
		if group == in.Group && strings.HasPrefix(stream, in.Prefix) {
			names = append(names, stream)
		}
	}
	sort.Strings(names)
	page, next, err := paginate(names, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	streams := []any{}
	for _, stream := range page {
		streams = append(streams, map[string]any{"logStreamName": stream, "arn": s.logArn(in.Group, stream)})
	}
	out := map[string]any{"logStreams": streams}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}
