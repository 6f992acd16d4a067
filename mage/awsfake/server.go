package awsfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is the double. The zero value is not usable; call New.
type Server struct {
	mu      sync.Mutex
	account string
	region  string

	taskDefs map[string][]*taskDefinition // family -> revisions (index = revision-1)
	tasks    map[string]*task             // task ARN -> task
	tokens   map[string][]string          // RunTask clientToken -> task ARNs
	// tokenRequests: the request each clientToken came with.
	tokenRequests map[string]string
	execs         []ExecSession         // ExecuteCommand calls accepted
	services      map[string]*service   // cluster/name -> service
	logs          map[string][]logEvent // group + "\x00" + stream -> events
	seq           int

	// Outcome decides how a started task behaves; nil means "exit 0 after
	// a short run with no output".
	Outcome func(RunRequest) Outcome
	// throttle makes the next n calls of an operation fail with
	// ThrottlingException (HTTP 400), as AWS does under rate limits.
	throttle map[string]int
	calls    map[string]int
	rollout  func(service, taskDefinition string) Rollout
	// resolveDigest: SetImageDigests.
	resolveDigest func(image string) string
	// alarms: CloudWatch alarms in ALARM (SetAlarm).
	alarms map[string]bool
	authz  []AuthzRequest

	clusters  map[string]time.Time // name -> created
	logGroups map[string]time.Time // name -> created
	timing    Timing
	clock     func() time.Time

	// contract, when set, checks every request and response against
	// botocore's models; a violation fails the call (ContractEnv).
	contract    *Contract
	contractErr error
	// logContract: count exchanges for the suite's summary (only for the
	// contract every double gets from ContractEnv, not one a test sets).
	logExchanges bool
	// changed: a call changed state since it was loaded (Save is skipped
	// otherwise, so a read-only command never overwrites newer state).
	changed bool
	// persist, when set, is where the state is saved after every call
	// that changes it, as AWS keeps what it accepted even if the process
	// serving it dies the next moment (the sandbox: a SIGKILLed deploy).
	persist string
}

// PersistTo saves the state to path after every changing call from now on.
func (s *Server) PersistTo(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.persist = path
}

// mutating operations: the ones after which the sandbox must save.
var mutating = map[string]bool{
	"RegisterTaskDefinition": true, "RunTask": true, "StopTask": true, "CreateService": true,
	"UpdateService": true, "StopServiceDeployment": true, "ContinueServiceDeployment": true, "CreateCluster": true, "CreateLogGroup": true, "DeregisterTaskDefinition": true,
}

// Changed reports whether a call changed the double's state.
func (s *Server) Changed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// SetContract checks every exchange against c from now on (nil: none).
func (s *Server) SetContract(c *Contract) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contract, s.contractErr, s.logExchanges = c, nil, false
}

// RunRequest is what the Outcome function sees of a RunTask call.
type RunRequest struct {
	Cluster        string
	TaskDefinition string
	Family         string
	Containers     []string
	Command        map[string][]string // container -> command override, else the task definition's
	Images         map[string]string   // container -> image
	Environment    map[string][]string // container -> KEY=VALUE, the definition's then the overrides
	// StopTimeout is the essential container's stopTimeout (30 s unless
	// the definition says): how long a stopped task's command has between
	// its stop signal and SIGKILL.
	StopTimeout time.Duration
	Essential   string // the first essential container
	StartedBy   string
}

// Outcome scripts one task. Durations are measured on the server's clock.
type Outcome struct {
	// Failures makes RunTask answer 200 with failures and no task, e.g.
	// {Reason: "RESOURCE:MEMORY"}.
	Failures []Failure
	// PendingFor is the time spent PROVISIONING/PENDING before RUNNING.
	PendingFor time.Duration
	// RunFor is the time RUNNING before the essential container exits.
	RunFor time.Duration
	// ExitCode of the essential container.
	ExitCode int
	// FailToStart stops the task from PENDING with stopCode
	// TaskFailedToStart and this stoppedReason; ContainerReason then
	// fills containers[].reason (e.g. "CannotPullContainerError: ...").
	FailToStart     string
	ContainerReason string
	// Logs are written to the essential container's awslogs stream while
	// it runs, spread evenly over RunFor.
	Logs []string
	// Exec, when set, really runs the task (the sandbox runs the command
	// in the built image): the task is RUNNING until Exec returns, each
	// line it passes to log becomes a log event, and its result is the
	// essential container's exit code. RunFor and ExitCode are ignored.
	// ctx is cancelled when the task's containers get their stop signal
	// (after StopTask and DEACTIVATING).
	Exec func(ctx context.Context, log func(line string)) int
	// StopTakes is how long the containers take to exit after their stop
	// signal; longer than the essential container's stopTimeout means ECS
	// SIGKILLs them at the timeout (exit code 137, else 143); 0 means
	// Timing.StopPhase.
	StopTakes time.Duration
}

// Failure is one RunTask failure.
type Failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// New returns a double for one account and region.
func New() *Server {
	contract, err := contractFromEnv()
	return &Server{
		contract: contract, contractErr: err, logExchanges: contract != nil,
		account:  "000000000000",
		region:   "us-east-1",
		taskDefs: map[string][]*taskDefinition{},
		tasks:    map[string]*task{},
		tokens:   map[string][]string{}, tokenRequests: map[string]string{},
		services: map[string]*service{},
		logs:     map[string][]logEvent{},
		throttle: map[string]int{},
		calls:    map[string]int{},

		clusters:  map[string]time.Time{},
		logGroups: map[string]time.Time{},
		timing:    TestTiming,
	}
}

// Throttle makes the next n calls of op ("RunTask", ...) fail with
// ThrottlingException.
func (s *Server) Throttle(op string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle[op] = n
}

// Calls reports how many requests op has received, throttled ones included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func clientErr(typ, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typ, msg: fmt.Sprintf(format, args...)}
}

type handler func(s *Server, body []byte) (any, error)

var handlers = map[string]handler{
	"AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition":     (*Server).registerTaskDefinition,
	"AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition":     (*Server).describeTaskDefinition,
	"AmazonEC2ContainerServiceV20141113.ListTaskDefinitions":        (*Server).listTaskDefinitions,
	"AmazonEC2ContainerServiceV20141113.DeregisterTaskDefinition":   (*Server).deregisterTaskDefinition,
	"AmazonEC2ContainerServiceV20141113.RunTask":                    (*Server).runTask,
	"AmazonEC2ContainerServiceV20141113.DescribeTasks":              (*Server).describeTasks,
	"AmazonEC2ContainerServiceV20141113.StopTask":                   (*Server).stopTask,
	"AmazonEC2ContainerServiceV20141113.ListTasks":                  (*Server).listTasks,
	"AmazonEC2ContainerServiceV20141113.CreateService":              (*Server).createService,
	"AmazonEC2ContainerServiceV20141113.DescribeServices":           (*Server).describeServices,
	"AmazonEC2ContainerServiceV20141113.UpdateService":              (*Server).updateService,
	"AmazonEC2ContainerServiceV20141113.ListServiceDeployments":     (*Server).listServiceDeployments,
	"AmazonEC2ContainerServiceV20141113.DescribeServiceDeployments": (*Server).describeServiceDeployments,
	"AmazonEC2ContainerServiceV20141113.DescribeServiceRevisions":   (*Server).describeServiceRevisions,
	"AmazonEC2ContainerServiceV20141113.StopServiceDeployment":      (*Server).stopServiceDeployment,
	"AmazonEC2ContainerServiceV20141113.ContinueServiceDeployment":  (*Server).continueServiceDeployment,
	"AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken":    (*Server).getAuthorizationToken,
	"Logs_20140328.GetLogEvents":                                    (*Server).getLogEvents,
	"Logs_20140328.FilterLogEvents":                                 (*Server).filterLogEvents,
	"AmazonEC2ContainerServiceV20141113.ExecuteCommand":             (*Server).executeCommand,
	"Logs_20140328.CreateLogGroup":                                  (*Server).createLogGroup,
	"Logs_20140328.DescribeLogStreams":                              (*Server).describeLogStreams,
	"Logs_20140328.DescribeLogGroups":                               (*Server).describeLogGroups,
	"AmazonEC2ContainerServiceV20141113.CreateCluster":              (*Server).createCluster,
	"AmazonEC2ContainerServiceV20141113.DescribeClusters":           (*Server).describeClusters,
}

// ServeHTTP implements the JSON 1.1 wire protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || target == "" {
		writeErr(w, &apiError{status: http.StatusBadRequest, typ: "UnknownOperationException", msg: "expected POST / with X-Amz-Target"})
		return
	}
	h, ok := handlers[target]
	if !ok {
		writeErr(w, &apiError{status: http.StatusBadRequest, typ: "UnknownOperationException", msg: "operation " + target + " is not implemented by this double"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, clientErr("SerializationException", "read body: %v", err))
		return
	}
	op := target[strings.LastIndexByte(target, '.')+1:]
	if s.contractErr != nil {
		writeErr(w, &apiError{status: http.StatusInternalServerError, typ: "ContractUnavailable", msg: s.contractErr.Error()})
		return
	}
	if err := s.checkContract(op, "request", s.contract.CheckRequest, target, body); err != nil {
		writeErr(w, err)
		return
	}
	s.mu.Lock()
	s.calls[op]++
	throttled := s.throttle[op] > 0
	if throttled {
		s.throttle[op]--
	}
	var out any
	if throttled {
		err = clientErr("ThrottlingException", "Rate exceeded")
	} else {
		// Service tasks start and stop with the clock; each call sees them
		// as they are now (UpdateService must see the old ones to replace).
		s.syncServiceTasks()
		out, err = h(s, body)
		if err == nil {
			s.record(op, body, out)
			s.changed = s.changed || mutating[op]
			if mutating[op] && s.persist != "" {
				if perr := s.saveLocked(s.persist); perr != nil {
					err = &apiError{status: http.StatusInternalServerError, typ: "ServerException", msg: "sandbox state not saved: " + perr.Error()}
				}
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := s.checkContract(op, "response", s.contract.CheckResponse, target, data); err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("fake-%d", time.Now().UnixNano()))
	_, _ = w.Write(append(data, '\n'))
}

// checkContract validates one side of an exchange when a contract is set:
// a bad request is the caller's ValidationException, a bad answer the
// double's own ContractViolation.
func (s *Server) checkContract(op, side string, check func(string, []byte) []string, target string, body []byte) error {
	if s.contract == nil {
		return nil
	}
	v := check(target, body)
	s.logContract(op+" "+side, len(v))
	switch {
	case len(v) == 0:
		return nil
	case side == "request":
		return &apiError{status: http.StatusBadRequest, typ: "ValidationException", msg: "request violates the " + op + " model: " + strings.Join(v, "; ")}
	default:
		return &apiError{status: http.StatusInternalServerError, typ: "ContractViolation", msg: "the double's answer violates the " + op + " model: " + strings.Join(v, "; ")}
	}
}

func writeErr(w http.ResponseWriter, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{status: http.StatusInternalServerError, typ: "ServerException", msg: err.Error()}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", ae.typ)
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": ae.typ, "message": ae.msg})
}

func decode(body []byte, v any) error {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return clientErr("SerializationException", "%v", err)
	}
	return nil
}

// Listen serves on addr (e.g. 127.0.0.1:0) and returns the endpoint URL.
func (s *Server) Listen(addr string) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}

// TaskCount reports how many tasks RunTask started (services' own tasks
// are not counted).
func (s *Server) TaskCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tasks {
		if !strings.HasPrefix(t.group, "service:") {
			n++
		}
	}
	return n
}
