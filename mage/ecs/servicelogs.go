package ecs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// FilterLogsAPI is what ServiceLogs needs from CloudWatch Logs.
type FilterLogsAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// ServiceLogsOptions select what ServiceLogs prints.
type ServiceLogsOptions struct {
	Cluster, Service string
	Container        string         // "" = every container that logs to CloudWatch
	Since            time.Duration  // default 10 minutes
	Follow           bool           // keep printing new lines until ctx ends
	Grep             *regexp.Regexp // only lines that match
	Poll             time.Duration  // follow: default 2 s
	// Lookback: each follow poll reads again this far behind the newest
	// line seen, since CloudWatch can make a line readable after later
	// ones (another stream, ingestion delay); event IDs drop repeats.
	// Default 30 s.
	Lookback time.Duration
}

// logSource is one container's streams: group and PREFIX/CONTAINER/.
type logSource struct {
	group, prefix, container string
}

// ServiceLogs prints the CloudWatch Logs of a service's containers,
// interleaved by time, each line prefixed with its task and container.
// The groups and stream prefixes come from the task definitions of the
// service's deployments, so a rollout's old and new tasks both show.
func ServiceLogs(ctx context.Context, api API, logs FilterLogsAPI, out io.Writer, o ServiceLogsOptions) error {
	if o.Since <= 0 {
		o.Since = 10 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Lookback <= 0 {
		o.Lookback = 30 * time.Second
	}
	sources, err := serviceLogSources(ctx, api, out, o)
	if err != nil {
		return err
	}
	seen := map[string]int64{} // event ID -> timestamp, for the lookback window
	from := time.Now().Add(-o.Since).UnixMilli()
	for {
		events, err := readSources(ctx, logs, sources, from)
		if err != nil {
			if ctx.Err() != nil && o.Follow {
				return nil // Ctrl-C ends a follow
			}
			return err
		}
		newest := from
		for _, e := range events {
			id := aws.ToString(e.event.EventId)
			ts := aws.ToInt64(e.event.Timestamp)
			newest = max(newest, ts)
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = ts
			msg := strings.TrimRight(aws.ToString(e.event.Message), "\n")
			if o.Grep != nil && !o.Grep.MatchString(msg) {
				continue
			}
			task := aws.ToString(e.event.LogStreamName)
			task = task[strings.LastIndexByte(task, '/')+1:]
			fmt.Fprintf(out, "%s %s %s | %s\n", time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z"), shortTask(task), e.container, msg)
		}
		if !o.Follow {
			return nil
		}
		from = newest - o.Lookback.Milliseconds()
		for id, ts := range seen {
			if ts < from {
				delete(seen, id) // older than any later read
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Poll):
		}
	}
}

func shortTask(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// serviceLogSources reads the awslogs options of the containers of every
// task definition the service's deployments run.
func serviceLogSources(ctx context.Context, api API, out io.Writer, o ServiceLogsOptions) ([]logSource, error) {
	described, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(o.Cluster), Services: []string{o.Service}})
	if err != nil {
		return nil, fmt.Errorf("describe service %s in cluster %s: %w", o.Service, o.Cluster, err)
	}
	if len(described.Services) == 0 {
		return nil, fmt.Errorf("service %s is not in cluster %s", o.Service, o.Cluster)
	}
	svc := described.Services[0]
	defs := []string{aws.ToString(svc.TaskDefinition)}
	for _, d := range svc.Deployments {
		defs = append(defs, aws.ToString(d.TaskDefinition))
	}
	var sources []logSource
	have := map[logSource]bool{}
	read := map[string]bool{}
	var names []string
	for _, arn := range defs {
		if arn == "" || read[arn] {
			continue
		}
		read[arn] = true
		td, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("describe task definition %s: %w", arn, err)
		}
		for _, c := range td.TaskDefinition.ContainerDefinitions {
			name := aws.ToString(c.Name)
			names = append(names, name)
			if o.Container != "" && name != o.Container {
				continue
			}
			lc := c.LogConfiguration
			if lc == nil || lc.LogDriver != "awslogs" || lc.Options["awslogs-group"] == "" || lc.Options["awslogs-stream-prefix"] == "" {
				fmt.Fprintf(out, "note: container %s does not log to CloudWatch with the awslogs driver and a stream prefix; skipped\n", name)
				continue
			}
			src := logSource{group: lc.Options["awslogs-group"], prefix: lc.Options["awslogs-stream-prefix"] + "/" + name + "/", container: name}
			if !have[src] {
				have[src] = true
				sources = append(sources, src)
			}
		}
	}
	if len(sources) == 0 {
		if o.Container != "" {
			return nil, fmt.Errorf("service %s has no container %q that logs to CloudWatch (its containers: %s)", o.Service, o.Container, strings.Join(slices.Compact(slices.Sorted(slices.Values(names))), ", "))
		}
		return nil, fmt.Errorf("no container of service %s logs to CloudWatch", o.Service)
	}
	return sources, nil
}

type sourcedEvent struct {
	event     logtypes.FilteredLogEvent
	container string
}

// readSources reads every source's events from `from` on, all pages, and
// interleaves them by time.
func readSources(ctx context.Context, logs FilterLogsAPI, sources []logSource, from int64) ([]sourcedEvent, error) {
	var all []sourcedEvent
	for _, src := range sources {
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(src.group), LogStreamNamePrefix: aws.String(src.prefix), StartTime: aws.Int64(from)}
		for page := 0; ; page++ {
			resp, err := logs.FilterLogEvents(ctx, in)
			if err != nil {
				var nf *logtypes.ResourceNotFoundException
				if errors.As(err, &nf) {
					return nil, fmt.Errorf("log group %s (container %s) does not exist: %w", src.group, src.container, err)
				}
				return nil, fmt.Errorf("read logs of %s in %s: %w", src.container, src.group, err)
			}
			for _, e := range resp.Events {
				all = append(all, sourcedEvent{event: e, container: src.container})
			}
			if resp.NextToken == nil || page == 1000 {
				break
			}
			in.NextToken = resp.NextToken
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		return aws.ToInt64(all[i].event.Timestamp) < aws.ToInt64(all[j].event.Timestamp)
	})
	return all, nil
}
