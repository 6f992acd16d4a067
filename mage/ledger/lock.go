package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// LockKey is the lock's object key in the store.
const LockKey = "lock.json"

// Lock says who is deploying an environment.
type Lock struct {
	Env     string    `json:"env"`
	Holder  string    `json:"holder"` // user@host or the CI job URL
	Commit  string    `json:"commit"`
	Action  string    `json:"action"` // deploy, rollback
	Started time.Time `json:"started"`
}

// CorruptLockError is a lock object that cannot be read (a full disk, a
// hand edit): it still blocks deploys until lock:release -force removes it.
type CorruptLockError struct {
	Where string
	Raw   []byte
	Err   error
}

func (e *CorruptLockError) Error() string {
	raw := string(e.Raw)
	if len(raw) > 200 {
		raw = raw[:200] + "..."
	}
	return fmt.Sprintf("the deploy lock at %s is corrupt (%v); its raw bytes: %q; remove it with mage lock:release -force", e.Where, e.Err, raw)
}

// LockedError is a lock held by someone else.
type LockedError struct{ Held Lock }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is locked: %s by %s (commit %s) since %s (%s ago); wait with -lockwait=DURATION, or if it is stale: mage lock:release -env=%s -force",
		e.Held.Env, e.Held.Action, e.Held.Holder, e.Held.Commit, e.Held.Started.Format(time.RFC3339), time.Since(e.Held.Started).Round(time.Second), e.Held.Env)
}

// AcquireLock takes the lock, waiting up to wait for another holder to let
// go. It returns the function that releases it.
func AcquireLock(ctx context.Context, store Store, lock Lock, wait time.Duration, out io.Writer) (func(), error) {
	data, _ := json.MarshalIndent(lock, "", "  ")
	deadline := time.Now().Add(wait)
	announced := false
	for {
		err := store.Create(ctx, LockKey, data)
		if err == nil {
			release := func() {
				// Released even when ctx is cancelled (Ctrl-C).
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				if err := ReleaseLock(rctx, store, lock.Holder, false); err != nil {
					fmt.Fprintf(out, "WARNING: could not release the deploy lock at %s: %v\n", store.Where(), err)
				}
			}
			return release, nil
		}
		if !errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("take the deploy lock at %s: %w", store.Where(), err)
		}
		held, rerr := ReadLock(ctx, store)
		if rerr != nil {
			if errors.Is(rerr, ErrNotFound) {
				continue // released between our two calls
			}
			return nil, rerr
		}
		if time.Now().After(deadline) {
			return nil, &LockedError{Held: *held}
		}
		if !announced {
			fmt.Fprintf(out, "waiting up to %s for %s's %s of %s to finish...\n", wait, held.Holder, held.Action, held.Env)
			announced = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(2*time.Second, time.Until(deadline)+10*time.Millisecond)):
		}
	}
}

// ReadLock returns the current lock; ErrNotFound when none is held.
func ReadLock(ctx context.Context, store Store) (*Lock, error) {
	data, err := store.Get(ctx, LockKey)
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil || l.Holder == "" {
		if err == nil {
			err = errors.New("no holder")
		}
		return nil, &CorruptLockError{Where: store.Where(), Raw: data, Err: err}
	}
	return &l, nil
}

// ReleaseLock removes the lock if holder holds it, or anyone's with force.
func ReleaseLock(ctx context.Context, store Store, holder string, force bool) error {
	l, err := ReadLock(ctx, store)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	var corrupt *CorruptLockError
	if errors.As(err, &corrupt) && force {
		return store.Delete(ctx, LockKey)
	}
	if err != nil {
		return err
	}
	if l.Holder != holder && !force {
		return fmt.Errorf("the lock on %s is held by %s (%s of commit %s since %s), not by %s: pass -force to break it",
			l.Env, l.Holder, l.Action, l.Commit, l.Started.Format(time.RFC3339), holder)
	}
	return store.Delete(ctx, LockKey)
}
