package awsfake

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
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
		Limit         *int   `json:"limit"`
		StartTime     *int64 `json:"startTime"`
		EndTime       *int64 `json:"endTime"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Group == "" || in.Stream == "" {
		return nil, clientErr("InvalidParameterException", "logGroupName and logStreamName are required")
	}
	limit, err := pageLimit(in.Limit, 10000)
	if err != nil {
		return nil, err
	}
	if _, ok := s.logGroups[in.Group]; !ok {
		return nil, clientErr("ResourceNotFoundException", "The specified log group does not exist.")
	}
	s.catchUpLogs()
	events, ok := s.logs[in.Group+"\x00"+in.Stream]
	if !ok {
		return nil, clientErr("ResourceNotFoundException", "The specified log stream does not exist.")
	}
	events = events[:s.ingested(in.Stream, events)]
	// "startTime: ... Events with a timestamp equal to this time or later
	// than this time are included"; "endTime: ... Events with a timestamp
	// equal to or later than this time are not included" (GetLogEvents).
	if in.StartTime != nil || in.EndTime != nil {
		var within []logEvent
		for _, e := range events {
			ms := e.ts.UnixMilli()
			if (in.StartTime == nil || ms >= *in.StartTime) && (in.EndTime == nil || ms < *in.EndTime) {
				within = append(within, e)
			}
		}
		events = within
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
	s.catchUpLogs()
	var in struct {
		Group      string `json:"logGroupName"`
		Prefix     string `json:"logStreamNamePrefix"`
		Limit      *int   `json:"limit"`
		NextToken  string `json:"nextToken"`
		OrderBy    string `json:"orderBy"`
		Descending bool   `json:"descending"`
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
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		// "If you order the results by event time, you cannot specify the
		// logStreamNamePrefix parameter" (DescribeLogStreams).
		if in.Prefix != "" {
			return nil, clientErr("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, clientErr("InvalidParameterException", "orderBy %q is not valid: LogStreamName or LastEventTime.", in.OrderBy)
	}
	var names []string
	last := map[string]int64{}
	for key, events := range s.logs {
		group, stream, _ := strings.Cut(key, "\x00")
		if group == in.Group && strings.HasPrefix(stream, in.Prefix) {
			names = append(names, stream)
			if n := s.ingested(stream, events); n > 0 {
				last[stream] = events[n-1].ts.UnixMilli()
			}
		}
	}
	sort.Strings(names)
	if in.OrderBy == "LastEventTime" {
		sort.SliceStable(names, func(i, j int) bool { return last[names[i]] < last[names[j]] })
	}
	if in.Descending {
		slices.Reverse(names)
	}
	page, next, err := paginate(names, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	streams := []any{}
	for _, stream := range page {
		doc := map[string]any{"logStreamName": stream, "arn": s.logArn(in.Group, stream)}
		events := s.logs[in.Group+"\x00"+stream]
		if n := s.ingested(stream, events); n > 0 {
			// Timestamps in milliseconds; lastEventTimestamp "updates on an
			// eventual consistency basis" on AWS (its docs), so readers
			// must not rely on it for the newest event.
			doc["creationTime"] = events[0].ts.UnixMilli()
			doc["firstEventTimestamp"] = events[0].ts.UnixMilli()
			doc["lastEventTimestamp"] = events[n-1].ts.UnixMilli()
			doc["lastIngestionTime"] = events[n-1].ts.Add(s.timing.LogIngest).UnixMilli()
		}
		streams = append(streams, doc)
	}
	out := map[string]any{"logStreams": streams}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// catchUpLogs writes every task's log lines due by now: tasks write
// their logs lazily, when anything reads them.
func (s *Server) catchUpLogs() {
	for _, t := range s.tasks {
		s.state(t)
	}
}

// ingested is how many of a stream's events are readable now: those
// older than the stream's ingestion lag (Timing.LogIngest, doubled on
// every other stream). Events are in time order within a stream.
func (s *Server) ingested(stream string, events []logEvent) int {
	lag := s.timing.LogIngest
	h := fnv.New32a()
	h.Write([]byte(stream))
	if h.Sum32()%2 == 1 {
		lag *= 2
	}
	now := s.now()
	n := len(events)
	for n > 0 && events[n-1].ts.Add(lag).After(now) {
		n--
	}
	return n
}

// filterLogEvents searches a log group's streams (all, those named, or
// those with a prefix) for events in [startTime, endTime], in timestamp
// order across streams. A filter pattern of plain terms matches events
// that contain every term ("quoted phrases" included), as CloudWatch does
// for unstructured events. The nextToken is a cursor after the last event
// returned, absent on the last page.
func (s *Server) filterLogEvents(body []byte) (any, error) {
	var in struct {
		Group     string   `json:"logGroupName"`
		GroupID   string   `json:"logGroupIdentifier"`
		Streams   []string `json:"logStreamNames"`
		Prefix    string   `json:"logStreamNamePrefix"`
		StartTime *int64   `json:"startTime"`
		EndTime   *int64   `json:"endTime"`
		Pattern   string   `json:"filterPattern"`
		NextToken string   `json:"nextToken"`
		Limit     *int     `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	group := in.Group
	if in.GroupID != "" {
		if in.Group != "" {
			return nil, clientErr("InvalidParameterException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
		}
		group = in.GroupID // a name, or the group's ARN
		if strings.HasPrefix(group, "arn:") {
			_, group, _ = strings.Cut(strings.TrimSuffix(group, ":*"), ":log-group:")
		}
	}
	if group == "" {
		return nil, clientErr("InvalidParameterException", "Should provide either name or identifier")
	}
	if len(in.Streams) > 0 && in.Prefix != "" {
		return nil, clientErr("InvalidParameterException", "Cannot specify both logStreamNames and logStreamNamePrefix")
	}
	if _, ok := s.logGroups[group]; !ok {
		return nil, clientErr("ResourceNotFoundException", "The specified log group does not exist.")
	}
	limit, err := pageLimit(in.Limit, 10000)
	if err != nil {
		return nil, err
	}
	terms, err := filterTerms(in.Pattern)
	if err != nil {
		return nil, err
	}
	var after *filtered
	if in.NextToken != "" {
		c, err := decodeCursor(in.NextToken)
		if err != nil {
			return nil, clientErr("InvalidParameterException", "The specified nextToken is invalid.")
		}
		after = &c
	}
	s.catchUpLogs()
	named := map[string]bool{}
	for _, n := range in.Streams {
		named[n] = true
	}
	var hits []filtered
	for key, events := range s.logs {
		g, stream, _ := strings.Cut(key, "\x00")
		if g != group || !strings.HasPrefix(stream, in.Prefix) || (len(named) > 0 && !named[stream]) {
			continue
		}
		events = events[:s.ingested(stream, events)]
		for i, e := range events {
			ms := e.ts.UnixMilli()
			if (in.StartTime != nil && ms < *in.StartTime) || (in.EndTime != nil && ms > *in.EndTime) || !matchesTerms(e.msg, terms) {
				continue
			}
			h := filtered{ms: ms, stream: stream, index: i, msg: e.msg}
			if after != nil && !after.before(h) {
				continue
			}
			hits = append(hits, h)
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].before(hits[j]) })
	out := map[string]any{"searchedLogStreams": []any{}}
	events := []any{}
	for _, h := range hits[:min(limit, len(hits))] {
		events = append(events, map[string]any{"logStreamName": h.stream, "timestamp": h.ms, "ingestionTime": h.ms,
			"message": h.msg, "eventId": h.id()})
	}
	out["events"] = events
	if len(hits) > limit {
		out["nextToken"] = hits[limit-1].cursor()
	}
	return out, nil
}

// filtered is one event a filter matched, ordered by time, then stream,
// then position in its stream.
type filtered struct {
	ms     int64
	stream string
	index  int
	msg    string
}

func (f filtered) before(o filtered) bool {
	if f.ms != o.ms {
		return f.ms < o.ms
	}
	if f.stream != o.stream {
		return f.stream < o.stream
	}
	return f.index < o.index
}

// id is a 56-digit event ID, as CloudWatch's, stable for the event.
func (f filtered) id() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", f.stream, f.index))
	var b strings.Builder
	for _, c := range sum[:28] {
		fmt.Fprintf(&b, "%02d", int(c)%100)
	}
	return b.String()
}

func (f filtered) cursor() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d\x00%d\x00%s", f.ms, f.index, f.stream))
}

func decodeCursor(token string) (filtered, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return filtered{}, err
	}
	parts := strings.SplitN(string(raw), "\x00", 3)
	if len(parts) != 3 {
		return filtered{}, fmt.Errorf("cursor %q", raw)
	}
	ms, err1 := strconv.ParseInt(parts[0], 10, 64)
	index, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return filtered{}, fmt.Errorf("cursor %q", raw)
	}
	return filtered{ms: ms, index: index, stream: parts[2]}, nil
}

// termPattern is an unstructured filter pattern: every plain term must
// appear, none of the -terms, and at least one of the ?terms when there
// are any ("ERROR" and "Exception"; "?ERROR ?WARN"; "ERROR -Retry", as
// CloudWatch Logs' filter pattern syntax for unstructured log events
// documents). Terms are case sensitive.
type termPattern struct{ all, any, none []string }

// filterTerms reads a pattern of terms and "quoted phrases", each
// optionally prefixed with ? or -; the JSON, space-delimited and regular
// expression forms are refused rather than misread.
func filterTerms(pattern string) (termPattern, error) {
	var p termPattern
	rest := strings.TrimSpace(pattern)
	for rest != "" {
		list := &p.all
		switch rest[0] {
		case '?':
			list, rest = &p.any, rest[1:]
		case '-':
			list, rest = &p.none, rest[1:]
		}
		if rest != "" && rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return termPattern{}, clientErr("InvalidParameterException", "Invalid character(s) in term '%s'", rest)
			}
			*list = append(*list, rest[1:end+1])
			rest = strings.TrimSpace(rest[end+2:])
			continue
		}
		term, after, _ := strings.Cut(rest, " ")
		if term == "" || strings.ContainsAny(term, "{}[]?") || strings.HasPrefix(term, "%") {
			return termPattern{}, clientErr("InvalidParameterException", "the double reads only terms, ?terms, -terms and quoted phrases in filterPattern, not %q", term)
		}
		*list = append(*list, term)
		rest = strings.TrimSpace(after)
	}
	return p, nil
}

func matchesTerms(msg string, p termPattern) bool {
	for _, t := range p.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range p.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}
