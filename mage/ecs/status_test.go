package ecs

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Twelve services need two DescribeServices calls (AWS allows ten), and a
// service that does not exist comes back as missing, not as an error.
func TestServiceStatesBatchesAndReportsMissing(t *testing.T) {
	fake, _, client, _ := setup(t)
	ctx := context.Background()
	names := []string{"web-app"}
	for i := 1; i <= 10; i++ {
		name := fmt.Sprintf("worker-%d", i)
		names = append(names, name)
		_, err := client.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster: aws.String("shop-sandbox"), ServiceName: aws.String(name),
			TaskDefinition: aws.String("shop-sandbox-migrate"), DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
			NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	names = append(names, "gone")
	before := fake.Calls("DescribeServices")
	states, err := ServiceStates(ctx, client, "shop-sandbox", names)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("DescribeServices") - before; n != 2 {
		t.Errorf("DescribeServices calls = %d, want 2 for 12 services", n)
	}
	if len(states) != 12 {
		t.Fatalf("states = %d, want 12", len(states))
	}
	web := states[0]
	if web.Name != "web-app" || len(web.Images) != 1 || web.Images[0] != (ContainerImage{"rails", "127.0.0.1:5000/shop/app:old"}) {
		t.Errorf("web-app state = %+v", web)
	}
	if last := states[11]; last.Name != "gone" || last.Missing == "" {
		t.Errorf("missing service = %+v", last)
	}
}
