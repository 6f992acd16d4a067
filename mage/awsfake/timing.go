package awsfake

import "time"

// Timing is how long the double takes for what AWS does over time. AWS is
// eventually consistent and its lifecycles take seconds: code that only
// ever met an instant, perfectly consistent double breaks on the real one.
type Timing struct {
	// TaskVisible: a task RunTask just returned is MISSING from
	// DescribeTasks and absent from ListTasks for this long.
	TaskVisible time.Duration
	// ServiceUpdateVisible: after UpdateService, DescribeServices keeps
	// showing the previous deployment as PRIMARY for this long.
	ServiceUpdateVisible time.Duration
	// StopPhase is each of DEACTIVATING, STOPPING and DEPROVISIONING
	// after a container exits or StopTask is called.
	StopPhase time.Duration
	// Rollout is how long a rollout takes when nothing scripts it.
	Rollout time.Duration
	// RollbackAfter: a FAILED deployment stays PRIMARY this long before
	// the circuit breaker's rollback deployment appears.
	RollbackAfter time.Duration
	// FailedTaskEvery: without the circuit breaker, a failing deployment
	// replaces a failed task this often and never ends.
	FailedTaskEvery time.Duration
	// ServiceLogEvery: each container of a service's running tasks logs a
	// line this often (a health check answered).
	ServiceLogEvery time.Duration
	// LogIngest: a log event becomes readable this long after its
	// timestamp, twice as long on every other stream, so events from
	// different streams arrive out of time order, as CloudWatch's do.
	LogIngest time.Duration
	// ExecAgentStart: ECS Exec's agent (ExecuteCommandAgent) starts this
	// long after its task is RUNNING; until then ExecuteCommand fails.
	ExecAgentStart time.Duration
	// TrafficShift is each step of a BLUE_GREEN, LINEAR or CANARY
	// deployment's stages that has no configured length (a traffic shift,
	// the stages around them, the clean-up).
	TrafficShift time.Duration
	// Minute is how long the double's minute lasts for the lengths
	// configured in minutes (bake times, hook timeouts); 0 is a minute.
	Minute time.Duration
}

func (t Timing) minute() time.Duration {
	if t.Minute == 0 {
		return time.Minute
	}
	return t.Minute
}

// TestTiming keeps every lag and phase observable but short, so tests
// exercise the same code paths as AWS in milliseconds.
var TestTiming = Timing{
	TaskVisible:          30 * time.Millisecond,
	ServiceUpdateVisible: 30 * time.Millisecond,
	StopPhase:            20 * time.Millisecond,
	Rollout:              300 * time.Millisecond,
	RollbackAfter:        150 * time.Millisecond,
	FailedTaskEvery:      100 * time.Millisecond,
	ServiceLogEvery:      50 * time.Millisecond,
	LogIngest:            20 * time.Millisecond,
	ExecAgentStart:       30 * time.Millisecond,
	TrafficShift:         30 * time.Millisecond,
	Minute:               200 * time.Millisecond,
}

// SandboxTiming is the local sandbox's: seconds, not AWS's minutes, with
// every lag and phase there to see.
var SandboxTiming = Timing{
	TaskVisible:          time.Second,
	ServiceUpdateVisible: 2 * time.Second,
	StopPhase:            time.Second,
	Rollout:              3 * time.Second,
	RollbackAfter:        3 * time.Second,
	FailedTaskEvery:      2 * time.Second,
	ServiceLogEvery:      5 * time.Second,
	LogIngest:            200 * time.Millisecond,
	ExecAgentStart:       2 * time.Second,
	TrafficShift:         time.Second,
	Minute:               5 * time.Second,
}

// SetTiming replaces the double's timing.
func (s *Server) SetTiming(t Timing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timing = t
}

// SetClock makes the double read time from now (tests that step time by
// hand); nil restores the wall clock.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// now is the double's clock; task lifecycles are computed from it.
func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}
