package ecs

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/awsfake"
)

// BenchmarkStopDetection measures how late a wait notices that a task
// stopped: from the stoppedAt the double reports to the wait returning.
// Tasks stop 2 s to 40 s after starting; our Wait and the SDK's
// TasksStopped waiter watch the same tasks side by side.
//
//	go test ./mage/ecs -run '^$' -bench StopDetection -benchtime 1x
func BenchmarkStopDetection(b *testing.B) {
	fake := awsfake.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client := ecs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	ctx := context.Background()
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("job"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("rails"), Image: aws.String("app:1")}}}); err != nil {
		b.Fatal(err)
	}
	runFor := []time.Duration{2 * time.Second, 5 * time.Second, 9 * time.Second, 14 * time.Second, 21 * time.Second, 27 * time.Second, 33 * time.Second, 40 * time.Second}
	next := 0
	var mu sync.Mutex
	fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		mu.Lock()
		defer mu.Unlock()
		d := runFor[next%len(runFor)]
		next++
		return awsfake.Outcome{PendingFor: 100 * time.Millisecond, RunFor: d}
	}
	for i := 0; i < b.N; i++ {
		var ours, sdk []time.Duration
		var wg sync.WaitGroup
		r := &Runner{ECS: client}
		for range runFor {
			out, err := client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("job")})
			if err != nil {
				b.Fatal(err)
			}
			arn := aws.ToString(out.Tasks[0].TaskArn)
			wg.Add(2)
			go func() {
				defer wg.Done()
				t, err := r.Wait(ctx, "default", arn)
				lat := time.Since(aws.ToTime(t.StoppedAt))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ours = append(ours, lat)
				}
			}()
			go func() {
				defer wg.Done()
				w := ecs.NewTasksStoppedWaiter(client)
				out, err := w.WaitForOutput(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}}, 10*time.Minute)
				if err != nil {
					return
				}
				lat := time.Since(aws.ToTime(out.Tasks[0].StoppedAt))
				mu.Lock()
				defer mu.Unlock()
				sdk = append(sdk, lat)
			}()
		}
		wg.Wait()
		oursMean, oursMax := stats(ours)
		sdkMean, sdkMax := stats(sdk)
		b.ReportMetric(oursMean.Seconds(), "s/detect-ours-mean")
		b.ReportMetric(oursMax.Seconds(), "s/detect-ours-max")
		b.ReportMetric(sdkMean.Seconds(), "s/detect-sdk-mean")
		b.ReportMetric(sdkMax.Seconds(), "s/detect-sdk-max")
		fmt.Printf("stop detection over %d tasks (2-40 s): ours mean %.2fs max %.2fs; SDK TasksStopped waiter mean %.2fs max %.2fs\n",
			len(ours), oursMean.Seconds(), oursMax.Seconds(), sdkMean.Seconds(), sdkMax.Seconds())
	}
}

func stats(d []time.Duration) (mean, max time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return sum / time.Duration(len(d)), d[len(d)-1]
}
