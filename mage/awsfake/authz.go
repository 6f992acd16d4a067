package awsfake

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AuthzRequest is one authorization AWS makes for a call the double served:
// the IAM action, the resource ARN and the request context, as the Service
// Authorization Reference defines them. A call can need several (a
// RegisterTaskDefinition with tags and roles is also ecs:TagResource and
// iam:PassRole). Tests hand these to an IAM simulator to prove a policy
// allows everything the toolkit and the sandbox's terraform did.
type AuthzRequest struct {
	Operation string            `json:"operation"`
	Action    string            `json:"action"`
	Resource  string            `json:"resource"`
	Context   map[string]string `json:"context,omitempty"`
}

// Authorizations returns every authorization recorded so far.
func (s *Server) Authorizations() []AuthzRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AuthzRequest(nil), s.authz...)
}

// record derives the authorizations of one served call from its request
// and response. Called with s.mu held.
func (s *Server) record(op string, body []byte, out any) {
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	if in == nil {
		in = map[string]any{}
	}
	var res map[string]any
	if data, err := json.Marshal(out); err == nil {
		_ = json.Unmarshal(data, &res)
	}
	add := func(action, resource string, ctx map[string]string) {
		s.authz = append(s.authz, AuthzRequest{Operation: op, Action: action, Resource: resource, Context: ctx})
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	cluster := s.clusterArn(clusterName(str(in, "cluster")))
	onCluster := map[string]string{"ecs:cluster": cluster}
	passRoles := func(m map[string]any) {
		for _, k := range []string{"executionRoleArn", "taskRoleArn"} {
			if role := str(m, k); role != "" {
				add("iam:PassRole", role, map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"})
			}
		}
	}
	hasTags := func() bool { tags, _ := in["tags"].([]any); return len(tags) > 0 }

	switch op {
	case "RegisterTaskDefinition":
		td, _ := res["taskDefinition"].(map[string]any)
		arn := str(td, "taskDefinitionArn")
		add("ecs:RegisterTaskDefinition", arn, nil)
		if hasTags() {
			add("ecs:TagResource", arn, map[string]string{"ecs:CreateAction": "RegisterTaskDefinition"})
		}
		passRoles(in)
	case "DescribeTaskDefinition", "ListTaskDefinitions":
		add("ecs:"+op, "*", nil)
	case "DeregisterTaskDefinition":
		add("ecs:DeregisterTaskDefinition", "*", nil) // no resource-level permissions
	case "RunTask":
		if td, err := s.lookupTaskDef(str(in, "taskDefinition")); err == nil {
			add("ecs:RunTask", td.arn, onCluster)
		}
		tasks, _ := res["tasks"].([]any)
		for _, t := range tasks {
			if hasTags() {
				add("ecs:TagResource", str(t.(map[string]any), "taskArn"), map[string]string{"ecs:CreateAction": "RunTask"})
			}
		}
		if ov, ok := in["overrides"].(map[string]any); ok {
			passRoles(ov)
		}
	case "DescribeTasks", "StopTask":
		var ids []any
		if op == "StopTask" {
			ids = []any{in["task"]}
		} else {
			ids, _ = in["tasks"].([]any)
		}
		for _, id := range ids {
			ref, _ := id.(string)
			if !strings.HasPrefix(ref, "arn:") {
				ref = s.arn("task", clusterName(cluster)+"/"+ref)
			}
			add("ecs:"+op, ref, onCluster)
		}
	case "ListTasks":
		add("ecs:ListTasks", "*", onCluster)
	case "ExecuteCommand":
		if str(res, "taskArn") == "" {
			break // refused before authorization mattered
		}
		// Authorized on the cluster and on the task, with the container
		// as a condition key (the service authorization reference).
		withContainer := map[string]string{"ecs:container-name": str(res, "containerName")}
		for k, v := range onCluster {
			withContainer[k] = v
		}
		add("ecs:ExecuteCommand", s.clusterArn(clusterName(cluster)), withContainer)
		add("ecs:ExecuteCommand", str(res, "taskArn"), withContainer)
	case "CreateService", "UpdateService":
		name := str(in, "serviceName")
		if op == "UpdateService" {
			name = str(in, "service")
		}
		ctx := map[string]string{"ecs:cluster": cluster}
		if str(in, "taskDefinition") != "" {
			// ecs:task-definition: the ARN of the revision the call names
			// (the Service Authorization Reference's condition key).
			svc, _ := res["service"].(map[string]any)
			ctx["ecs:task-definition"] = str(svc, "taskDefinition")
		}
		add("ecs:"+op, s.serviceArn(cluster, name), ctx)
	case "DescribeServices":
		names, _ := in["services"].([]any)
		for _, n := range names {
			name, _ := n.(string)
			add("ecs:DescribeServices", s.serviceArn(cluster, name), onCluster)
		}
	case "ListServiceDeployments":
		add("ecs:ListServiceDeployments", s.serviceArn(cluster, str(in, "service")), onCluster)
	case "DescribeServiceDeployments", "DescribeServiceRevisions":
		key := map[string]string{"DescribeServiceDeployments": "serviceDeploymentArns", "DescribeServiceRevisions": "serviceRevisionArns"}[op]
		arns, _ := in[key].([]any)
		for _, a := range arns {
			arn, _ := a.(string)
			add("ecs:"+op, arn, nil)
		}
	case "StopServiceDeployment", "ContinueServiceDeployment":
		add("ecs:"+op, str(in, "serviceDeploymentArn"), nil)
	case "CreateCluster":
		add("ecs:CreateCluster", "*", nil)
	case "DescribeClusters":
		names, _ := in["clusters"].([]any)
		for _, n := range names {
			name, _ := n.(string)
			add("ecs:DescribeClusters", s.clusterArn(clusterName(name)), nil)
		}
	case "DescribeLogGroups":
		add("logs:DescribeLogGroups", "*", nil)
	case "GetAuthorizationToken":
		add("ecr:GetAuthorizationToken", "*", nil)
	case "GetLogEvents":
		add("logs:GetLogEvents", s.logArn(str(in, "logGroupName"), str(in, "logStreamName")), nil)
	case "FilterLogEvents":
		add("logs:FilterLogEvents", s.logArn(str(in, "logGroupName"), ""), nil)
	case "DescribeLogStreams", "CreateLogGroup":
		add("logs:"+op, s.logArn(str(in, "logGroupName"), ""), nil)
	default:
		add("unknown:"+op, "*", nil)
	}
}

func (s *Server) serviceArn(clusterArn, name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	return s.arn("service", clusterName(clusterArn)+"/"+name)
}

// logArn is a log group's ARN, or one of its streams'.
func (s *Server) logArn(group, stream string) string {
	arn := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.region, s.account, group)
	if stream != "" {
		arn += ":log-stream:" + stream
	}
	return arn
}
