package testaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// Moto starts moto_server on a free loopback port for the test's lifetime
// and returns its endpoint URL. Extra environment (e.g.
// MOTO_ECS_SERVICE_RUNNING=2) is passed to the server.
func Moto(t testing.TB, env ...string) string {
	t.Helper()
	bin := testtools.Need(t, "moto_server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), env...)
	logPath := filepath.Join(t.TempDir(), "moto.log")
	logFile, _ := os.Create(logPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			if len(data) > 4000 {
				data = data[len(data)-4000:]
			}
			t.Logf("moto_server log tail:\n%s", data)
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Config is an SDK configuration for an emulator endpoint.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// CLI runs the real aws CLI against endpoint and decodes its JSON output.
func CLI(t testing.TB, endpoint string, args ...string) map[string]any {
	t.Helper()
	bin := testtools.Need(t, "aws")
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var v map[string]any
	if s := strings.TrimSpace(string(out)); s != "" {
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("aws %s printed non-JSON: %s", strings.Join(args, " "), out)
		}
	}
	return v
}

// Network makes a VPC, subnet and security group through the emulator's
// EC2 API, as moto's ECS services require.
func Network(t testing.TB, endpoint string) (subnet, securityGroup string) {
	t.Helper()
	vpc := CLI(t, endpoint, "ec2", "create-vpc", "--cidr-block", "10.0.0.0/16")["Vpc"].(map[string]any)["VpcId"].(string)
	// moto's awsvpc tasks read the ENI's private DNS name, which it only
	// sets when the VPC has DNS hostnames on (as real VPCs used by ECS do).
	CLI(t, endpoint, "ec2", "modify-vpc-attribute", "--vpc-id", vpc, "--enable-dns-hostnames", `{"Value":true}`)
	subnet = CLI(t, endpoint, "ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.1.0/24")["Subnet"].(map[string]any)["SubnetId"].(string)
	securityGroup = CLI(t, endpoint, "ec2", "create-security-group", "--group-name", "web", "--description", "web", "--vpc-id", vpc)["GroupId"].(string)
	return subnet, securityGroup
}

// ECSTypeFixProxy fronts moto with a proxy that corrects one known moto
// 5.2.1 deviation from the ECS API: Task.containers[].cpu/memory/
// memoryReservation come back as JSON numbers where the API (and so the
// SDK's strict deserializer) has strings. Nothing else is touched.
func ECSTypeFixProxy(t testing.TB, endpoint string) string {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasPrefix(resp.Request.Header.Get("X-Amz-Target"), "AmazonEC2ContainerService") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var doc any
		if json.Unmarshal(body, &doc) == nil {
			stringifyContainerSizes(doc)
			body, _ = json.Marshal(doc)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

func stringifyContainerSizes(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "containers" {
				if list, ok := val.([]any); ok {
					for _, c := range list {
						if cm, ok := c.(map[string]any); ok {
							for _, f := range []string{"cpu", "memory", "memoryReservation"} {
								if n, ok := cm[f].(float64); ok {
									cm[f] = fmt.Sprint(int64(n))
								}
							}
						}
					}
				}
			}
			stringifyContainerSizes(val)
		}
	case []any:
		for _, e := range x {
			stringifyContainerSizes(e)
		}
	}
}
