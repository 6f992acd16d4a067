package awsfake

import "strings"

// AddCluster creates a cluster, as CreateCluster does.
func (s *Server) AddCluster(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clusters[name]; !ok {
		s.clusters[name] = s.now()
	}
}

// AddLogGroup creates a CloudWatch Logs group, as CreateLogGroup does.
func (s *Server) AddLogGroup(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.logGroups[name]; !ok {
		s.logGroups[name] = s.now()
	}
}

// cluster resolves a cluster name or ARN ("" is "default") and fails as
// ECS does when it does not exist.
func (s *Server) cluster(ref string) (string, error) {
	name := clusterName(ref)
	if strings.HasPrefix(ref, "arn:") && !strings.HasPrefix(ref, s.arn("cluster", "")) {
		return "", clientErr("ClusterNotFoundException", "Cluster not found.")
	}
	if _, ok := s.clusters[name]; !ok {
		return "", clientErr("ClusterNotFoundException", "Cluster not found.")
	}
	return name, nil
}

func (s *Server) clusterDoc(name string) map[string]any {
	running, pending, services := 0, 0, 0
	for _, t := range s.tasks {
		if clusterName(t.cluster) != name || !s.visible(t) {
			continue
		}
		switch last, _ := s.state(t); last {
		case "RUNNING":
			running++
		case "PROVISIONING", "PENDING":
			pending++
		}
	}
	for _, svc := range s.services {
		if svc.Cluster == name {
			services++
		}
	}
	return map[string]any{
		"clusterArn": s.arn("cluster", name), "clusterName": name, "status": "ACTIVE",
		"runningTasksCount": running, "pendingTasksCount": pending, "activeServicesCount": services,
		"registeredContainerInstancesCount": 0,
	}
}

func (s *Server) createCluster(body []byte) (any, error) {
	var in struct {
		Name string `json:"clusterName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name := in.Name
	if name == "" {
		name = "default"
	}
	if !clusterNameRE.MatchString(name) {
		return nil, clientErr("InvalidParameterException", "Cluster name must be 1-255 letters, numbers, hyphens and underscores.")
	}
	if _, ok := s.clusters[name]; !ok {
		s.clusters[name] = s.now() // CreateCluster is idempotent
	}
	return map[string]any{"cluster": s.clusterDoc(name)}, nil
}

func (s *Server) describeClusters(body []byte) (any, error) {
	var in struct {
		Clusters []string `json:"clusters"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Clusters) == 0 {
		in.Clusters = []string{"default"}
	}
	if len(in.Clusters) > 100 {
		return nil, clientErr("InvalidParameterException", "clusters can have at most 100 items.")
	}
	found, failures := []any{}, []any{}
	for _, ref := range in.Clusters {
		if name, err := s.cluster(ref); err == nil {
			found = append(found, s.clusterDoc(name))
		} else {
			failures = append(failures, Failure{Arn: s.arn("cluster", clusterName(ref)), Reason: "MISSING"})
		}
	}
	return map[string]any{"clusters": found, "failures": failures}, nil
}
