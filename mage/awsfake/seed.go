package awsfake

import (
	"encoding/json"
	"fmt"
)

// Seed registers a task definition and, when service is not empty, creates
// a Fargate service running it, as terraform would in a real account. The
// sandbox uses it until its terraform root drives the double itself.
func (s *Server) Seed(cluster, family, container, image, logGroup, service string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	td, _ := json.Marshal(map[string]any{
		"family": family, "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
		"cpu": "256", "memory": "512",
		"containerDefinitions": []any{map[string]any{
			"name": container, "image": image, "essential": true,
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{
				"awslogs-group": logGroup, "awslogs-region": s.region, "awslogs-stream-prefix": family,
			}},
		}},
	})
	if _, err := s.registerTaskDefinition(td); err != nil {
		return fmt.Errorf("seed task definition %s: %w", family, err)
	}
	if service == "" {
		return nil
	}
	if _, ok := s.services[clusterName(cluster)+"/"+service]; ok {
		return nil
	}
	svc, _ := json.Marshal(map[string]any{
		"cluster": cluster, "serviceName": service, "taskDefinition": family, "desiredCount": 1, "launchType": "FARGATE",
		"networkConfiguration": map[string]any{"awsvpcConfiguration": map[string]any{
			"subnets": []string{"subnet-sandbox"}, "securityGroups": []string{"sg-sandbox"}, "assignPublicIp": "DISABLED",
		}},
	})
	if _, err := s.createService(svc); err != nil {
		return fmt.Errorf("seed service %s: %w", service, err)
	}
	return nil
}
