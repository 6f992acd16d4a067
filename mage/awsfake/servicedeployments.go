package awsfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A service deployment is ECS's record of one rollout: "Amazon ECS
// creates a new service deployment automatically when ... a user creates
// a service ... updates the service and uses the force new deployment
// option ... updates one or more service properties that require a
// deployment" (developer guide, service deployments). It deploys a target
// service revision (the workload configuration: task definition, images
// with their digests) over the source revisions that ran, and keeps its
// status after the rollout: PENDING; IN_PROGRESS, STOP_REQUESTED,
// ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS; then SUCCESSFUL, STOPPED,
// ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
type serviceDeployment struct {
	ID         string // the last element of its ARN
	Deployment string // the ecs-svc/ deployment whose rollout it records
	Target     string // the target revision's ID
	Sources    []revisionCount
	Created    time.Time
	Started    time.Time // LaunchAt: PENDING before it
	Finished   time.Time `json:",omitzero"`
	Status     string    // set on transitions; IN_PROGRESS/PENDING read from the clock
	Reason     string    `json:",omitempty"`
	// Breaker: the circuit breaker's view, "DISABLED" without one.
	Breaker      string
	FailureCount int `json:",omitempty"`
	Threshold    int `json:",omitempty"`
	Rollback     *sdRollback
	// Alarms the deployment monitors ("DISABLED" without), and the ones
	// that fired.
	AlarmStatus string   `json:",omitempty"`
	AlarmNames  []string `json:",omitempty"`
	Triggered   []string `json:",omitempty"`
}

type revisionCount struct {
	ID                       string
	Requested, Running, Pend int
}

type sdRollback struct {
	Reason   string
	Started  time.Time
	Revision string
}

// serviceRevision is a deployment's workload configuration as ECS froze
// it, images resolved to digests: "Amazon ECS resolves the container
// image tag to the image digest when you create a service revision".
type serviceRevision struct {
	ID, TaskDef string
	Created     time.Time
	Images      []containerImage
}

type containerImage struct{ Container, Image, Digest string }

// SetImageDigests resolves an image reference without a digest to the
// digest its registry serves (the sandbox asks its local registry); nil or
// "" leaves imageDigest out. A reference with @sha256: needs no lookup.
func (s *Server) SetImageDigests(resolve func(image string) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resolveDigest = resolve
}

// startServiceDeployment records the service deployment and target
// revision of a new deployment d, over the deployments running now.
func (s *Server) startServiceDeployment(svc *service, d *deployment, at time.Time) {
	s.seq++
	rev := &serviceRevision{ID: fmt.Sprint(uint64(4e18) + uint64(s.seq)), TaskDef: d.TaskDef, Created: at}
	if td, err := s.lookupTaskDef(d.TaskDef); err == nil {
		for _, c := range td.containers() {
			img := containerImage{Container: c.Name, Image: c.Image}
			if _, digest, ok := strings.Cut(c.Image, "@"); ok {
				img.Digest = digest
			} else if s.resolveDigest != nil {
				img.Digest = s.resolveDigest(c.Image)
			}
			rev.Images = append(rev.Images, img)
		}
	}
	svc.Revisions = append(svc.Revisions, rev)
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(svc.Cluster+"/"+svc.Name), uint64(s.seq)))
	sd := &serviceDeployment{ID: base64.RawURLEncoding.EncodeToString(sum[:16])[:22], Deployment: d.ID, Target: rev.ID,
		Created: at, Started: d.LaunchAt, Breaker: "DISABLED"}
	if svc.BreakerEnable {
		sd.Breaker, sd.Threshold = "MONITORING", breakerThreshold(svc.Desired)
	}
	if svc.Deploy.AlarmsEnable {
		sd.AlarmStatus, sd.AlarmNames = "MONITORING", svc.Deploy.Alarms
	}
	for _, o := range svc.Deployments {
		if o.Revision != "" && o.Running > 0 {
			sd.Sources = append(sd.Sources, revisionCount{ID: o.Revision, Requested: o.Desired, Running: o.Running})
		}
	}
	// A deployment still rolling out when a newer one starts is over:
	// the newer one replaces its tasks.
	for _, old := range svc.ServiceDeployments {
		if old.Finished.IsZero() && !strings.HasPrefix(old.Status, "ROLLBACK") {
			old.Status, old.Finished, old.Reason = "STOPPED", at, "Superseded by service deployment "+sd.ID+"."
			if old.Breaker == "MONITORING" {
				old.Breaker = "MONITORING_COMPLETE"
			}
		}
	}
	d.Revision, d.ServiceDeployment = rev.ID, sd.ID
	svc.ServiceDeployments = append([]*serviceDeployment{sd}, svc.ServiceDeployments...)
}

func (svc *service) serviceDeployment(id string) *serviceDeployment {
	for _, sd := range svc.ServiceDeployments {
		if sd.ID == id {
			return sd
		}
	}
	return nil
}

// deploymentCompleted: d's rollout finished at `at`, either its own
// service deployment's or the rollback of another one to it.
func (svc *service) deploymentCompleted(d *deployment, at time.Time) {
	if sd := svc.serviceDeployment(d.RollbackOf); sd != nil && sd.Finished.IsZero() {
		sd.Status, sd.Finished = "ROLLBACK_SUCCESSFUL", at
		d.RollbackOf = ""
		return
	}
	if sd := svc.serviceDeployment(d.ServiceDeployment); sd != nil && sd.Finished.IsZero() {
		sd.Status, sd.Finished = "SUCCESSFUL", at
		if sd.Breaker == "MONITORING" {
			sd.Breaker = "MONITORING_COMPLETE"
		}
		if sd.AlarmStatus == "MONITORING" {
			sd.AlarmStatus = "MONITORING_COMPLETE"
		}
	}
}

// deploymentFailed: the breaker tripped on d at `at`.
func (svc *service) deploymentFailed(d *deployment, at time.Time) {
	sd := svc.serviceDeployment(d.ServiceDeployment)
	if sd == nil || !sd.Finished.IsZero() {
		return
	}
	sd.Breaker, sd.FailureCount = "TRIGGERED", d.Failed
	sd.Reason = d.Reason
	if svc.BreakerRollback {
		sd.Status = "ROLLBACK_REQUESTED"
		return
	}
	sd.Status, sd.Finished = "STOPPED", at
}

// rollingBack: d's service deployment rolls back to prev from `at`;
// prev == nil: there was nothing to roll back to.
func (svc *service) rollingBack(d, prev *deployment, at time.Time, reason string) {
	sd := svc.serviceDeployment(d.ServiceDeployment)
	if sd == nil || !sd.Finished.IsZero() {
		return
	}
	if prev == nil {
		sd.Status, sd.Finished = "ROLLBACK_FAILED", at
		sd.Reason = "No earlier service revision completed: there is nothing to roll back to."
		return
	}
	sd.Status = "ROLLBACK_IN_PROGRESS"
	sd.Rollback = &sdRollback{Reason: reason, Started: at, Revision: prev.Revision}
	prev.RollbackOf = sd.ID
}

func (sd *serviceDeployment) alarmsDoc() map[string]any {
	if sd.AlarmStatus == "" {
		return map[string]any{"status": "DISABLED"}
	}
	return map[string]any{"status": sd.AlarmStatus, "alarmNames": orEmptyStrings(sd.AlarmNames), "triggeredAlarmNames": orEmptyStrings(sd.Triggered)}
}

func (s *Server) serviceDeploymentArn(svc *service, id string) string {
	return s.arn("service-deployment", svc.Cluster+"/"+svc.Name+"/"+id)
}

func (s *Server) serviceRevisionArn(svc *service, id string) string {
	return s.arn("service-revision", svc.Cluster+"/"+svc.Name+"/"+id)
}

// sdStatus is a service deployment's status now: a recorded transition,
// else PENDING before its launch and IN_PROGRESS after.
func (s *Server) sdStatus(sd *serviceDeployment) string {
	if sd.Status != "" {
		return sd.Status
	}
	if s.now().Before(sd.Started) {
		return "PENDING"
	}
	return "IN_PROGRESS"
}

// sdDeployment is the ecs-svc/ deployment a service deployment rolls out,
// while the service still has it.
func sdDeployment(svc *service, sd *serviceDeployment) *deployment {
	for _, d := range svc.Deployments {
		if d.ID == sd.Deployment {
			return d
		}
	}
	return nil
}

func (s *Server) serviceDeploymentDoc(svc *service, sd *serviceDeployment) map[string]any {
	status := s.sdStatus(sd)
	doc := map[string]any{
		"serviceDeploymentArn": s.serviceDeploymentArn(svc, sd.ID), "serviceArn": s.arn("service", svc.Cluster+"/"+svc.Name),
		"clusterArn": s.arn("cluster", svc.Cluster), "createdAt": epoch(sd.Created), "updatedAt": epoch(s.now()), "status": status,
		"deploymentCircuitBreaker": map[string]any{"status": sd.Breaker, "failureCount": sd.FailureCount, "threshold": sd.Threshold},
		"alarms":                   sd.alarmsDoc(),
		"deploymentConfiguration": map[string]any{
			"deploymentCircuitBreaker": map[string]any{"enable": svc.BreakerEnable, "rollback": svc.BreakerRollback},
			"maximumPercent":           svc.maxPercent(), "minimumHealthyPercent": svc.minHealthyPercent()},
	}
	if status != "PENDING" {
		doc["startedAt"] = epoch(sd.Started)
	}
	if !sd.Finished.IsZero() {
		doc["finishedAt"] = epoch(sd.Finished)
		if status == "STOPPED" {
			doc["stoppedAt"] = epoch(sd.Finished)
		}
	}
	if sd.Reason != "" {
		doc["statusReason"] = sd.Reason
	}
	target := map[string]any{"arn": s.serviceRevisionArn(svc, sd.Target), "requestedTaskCount": 0, "runningTaskCount": 0, "pendingTaskCount": 0}
	if d := sdDeployment(svc, sd); d != nil {
		target["requestedTaskCount"], target["runningTaskCount"] = d.Desired, d.Running
		if sd.Breaker == "MONITORING" {
			doc["deploymentCircuitBreaker"].(map[string]any)["failureCount"] = d.Failed
		}
		if d == svc.Deployments[0] {
			target["pendingTaskCount"] = launched(svc, d, s.now()) - d.Running
		}
		switch {
		case d.Plan.staged() && status == "IN_PROGRESS":
			ph := s.phaseOf(d, s.now())
			doc["lifecycleStage"] = ph.Stage
			target["requestedProductionTrafficWeight"], target["requestedTestTrafficWeight"] = ph.Production, ph.Test
		// Rolling deployments report the scale-up while new tasks launch
		// and the clean-up while the old ones drain.
		case status == "IN_PROGRESS" && d.Running < d.Desired:
			doc["lifecycleStage"] = "SCALE_UP"
		case status == "IN_PROGRESS":
			doc["lifecycleStage"] = "CLEAN_UP"
		}
		if hooks := s.hookDetails(d); len(hooks) > 0 {
			doc["lifecycleHookDetails"] = hooks
		}
	}
	doc["targetServiceRevision"] = target
	sources := []any{}
	for _, src := range sd.Sources {
		sources = append(sources, map[string]any{"arn": s.serviceRevisionArn(svc, src.ID), "requestedTaskCount": src.Requested,
			"runningTaskCount": src.Running, "pendingTaskCount": src.Pend})
	}
	doc["sourceServiceRevisions"] = sources
	if sd.Rollback != nil {
		doc["rollback"] = map[string]any{"reason": sd.Rollback.Reason, "startedAt": epoch(sd.Rollback.Started),
			"serviceRevisionArn": s.serviceRevisionArn(svc, sd.Rollback.Revision)}
	}
	return doc
}

// serviceOfArn finds the service an ARN of the given kind
// (service-deployment/cluster/service/id) belongs to, and the id.
func (s *Server) serviceOfArn(arn, kind string) (*service, string, bool) {
	prefix := s.arn(kind, "")
	rest, ok := strings.CutPrefix(arn, prefix)
	if !ok {
		return nil, "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return nil, "", false
	}
	svc, ok := s.services[parts[0]+"/"+parts[1]]
	return svc, parts[2], ok
}

func (s *Server) listServiceDeployments(body []byte) (any, error) {
	var in struct {
		Cluster   string   `json:"cluster"`
		Service   string   `json:"service"`
		Status    []string `json:"status"`
		CreatedAt *struct {
			Before *float64 `json:"before"`
			After  *float64 `json:"after"`
		} `json:"createdAt"`
		NextToken  string `json:"nextToken"`
		MaxResults *int   `json:"maxResults"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, err := s.serviceNamed(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	limit := 20
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, clientErr("InvalidParameterException", "maxResults must be between 1 and 100.")
		}
		limit = *in.MaxResults
	}
	s.advance(svc)
	now := s.now()
	var ids []string
	byID := map[string]*serviceDeployment{}
	for _, sd := range svc.ServiceDeployments {
		// Eventually consistent like DescribeServices: a deployment the
		// last update made is listed once the service shows it.
		if now.Before(sd.Started) {
			continue
		}
		if len(in.Status) > 0 && !slices.Contains(in.Status, s.sdStatus(sd)) {
			continue
		}
		if c := in.CreatedAt; c != nil && (c.After != nil && epoch(sd.Created) < *c.After || c.Before != nil && epoch(sd.Created) > *c.Before) {
			continue
		}
		ids = append(ids, sd.ID)
		byID[sd.ID] = sd
	}
	page, next, err := paginate(ids, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	briefs := []any{}
	for _, id := range page {
		doc := s.serviceDeploymentDoc(svc, byID[id])
		brief := map[string]any{"targetServiceRevisionArn": s.serviceRevisionArn(svc, byID[id].Target)}
		for _, k := range []string{"serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt", "finishedAt", "status", "statusReason"} {
			if v, ok := doc[k]; ok {
				brief[k] = v
			}
		}
		briefs = append(briefs, brief)
	}
	out := map[string]any{"serviceDeployments": briefs}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// arnList reads a Describe call's one list of 1 to 20 ARNs.
func arnList(body []byte, field string) ([]string, error) {
	var in map[string][]string
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in[field]) == 0 || len(in[field]) > 20 {
		return nil, clientErr("InvalidParameterException", "%s must have 1 to 20 items.", field)
	}
	return in[field], nil
}

func (s *Server) describeServiceDeployments(body []byte) (any, error) {
	arns, err := arnList(body, "serviceDeploymentArns")
	if err != nil {
		return nil, err
	}
	out, failures := []any{}, []any{}
	for _, arn := range arns {
		svc, sd, err := s.lookupServiceDeployment(arn)
		if err != nil {
			failures = append(failures, Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		out = append(out, s.serviceDeploymentDoc(svc, sd))
	}
	return map[string]any{"serviceDeployments": out, "failures": failures}, nil
}

func (s *Server) describeServiceRevisions(body []byte) (any, error) {
	arns, err := arnList(body, "serviceRevisionArns")
	if err != nil {
		return nil, err
	}
	out, failures := []any{}, []any{}
	for _, arn := range arns {
		svc, id, ok := s.serviceOfArn(arn, "service-revision")
		var rev *serviceRevision
		if ok {
			for _, r := range svc.Revisions {
				if r.ID == id {
					rev = r
				}
			}
		}
		if rev == nil {
			failures = append(failures, Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		images := []any{}
		for _, img := range rev.Images {
			doc := map[string]any{"containerName": img.Container, "image": img.Image}
			if img.Digest != "" {
				doc["imageDigest"] = img.Digest
			}
			images = append(images, doc)
		}
		doc := map[string]any{"serviceRevisionArn": arn, "serviceArn": s.arn("service", svc.Cluster+"/"+svc.Name),
			"clusterArn": s.arn("cluster", svc.Cluster), "taskDefinition": rev.TaskDef, "containerImages": images,
			"createdAt": epoch(rev.Created)}
		if svc.LaunchType != "" {
			doc["launchType"] = svc.LaunchType
		}
		if svc.Network != nil {
			doc["networkConfiguration"] = svc.Network
		}
		out = append(out, doc)
	}
	return map[string]any{"serviceRevisions": out, "failures": failures}, nil
}

// lookupServiceDeployment finds a service deployment by ARN, its service
// moved along the clock first.
func (s *Server) lookupServiceDeployment(arn string) (*service, *serviceDeployment, error) {
	svc, id, ok := s.serviceOfArn(arn, "service-deployment")
	var sd *serviceDeployment
	if ok {
		s.advance(svc)
		sd = svc.serviceDeployment(id)
	}
	if sd == nil {
		return nil, nil, clientErr("ServiceDeploymentNotFoundException", "Service deployment %s was not found.", arn)
	}
	return svc, sd, nil
}

// stopServiceDeployment: "ROLLBACK - This option rolls back the service
// deployment to the previous service revision. You can use this option
// even if you didn't configure the service deployment for the rollback
// option"; from PENDING or IN_PROGRESS "the service deployment moves to
// the ROLLBACK_REQUESTED state, and then the rollback operation starts";
// one already stopping or rolling back continues (developer guide,
// stopping service deployments). A finished one cannot be stopped.
func (s *Server) stopServiceDeployment(body []byte) (any, error) {
	var in struct {
		Arn      string `json:"serviceDeploymentArn"`
		StopType string `json:"stopType"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch in.StopType {
	case "", "ROLLBACK":
	default:
		// The API reference: "The valid values are ROLLBACK."
		return nil, clientErr("InvalidParameterException", "stopType %s is not supported for this service deployment; the valid value is ROLLBACK.", in.StopType)
	}
	svc, sd, err := s.lookupServiceDeployment(in.Arn)
	if err != nil {
		return nil, err
	}
	switch s.sdStatus(sd) {
	case "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS":
		return map[string]any{"serviceDeploymentArn": in.Arn}, nil
	case "PENDING", "IN_PROGRESS":
	default:
		return nil, clientErr("ConflictException", "Service deployment %s is %s and can no longer be stopped.", in.Arn, s.sdStatus(sd))
	}
	d := sdDeployment(svc, sd)
	now := s.now()
	sd.Status = "ROLLBACK_REQUESTED"
	if d != nil {
		d.RolloutState, d.FailedAt, d.Running, d.WavePending = "FAILED", now, 0, 0
		d.Reason = "ECS deployment " + d.ID + " was stopped: a rollback was requested."
		d.StopRequested = true
		s.event(svc, now, "(service %s) (deployment %s) deployment rollback requested.", svc.Name, d.ID)
		s.advance(svc)
	}
	return map[string]any{"serviceDeploymentArn": in.Arn}, nil
}
