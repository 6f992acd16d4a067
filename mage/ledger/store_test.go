package ledger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/railsecs/deploykit/mage/internal/testaws"
)

// TestS3StoreOnMoto runs the lock and the release history against a real
// S3 emulator: the conditional create answers 412 the second time.
func TestS3StoreOnMoto(t *testing.T) {
	endpoint := testaws.Moto(t)
	cfg := testaws.Config(endpoint)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shop-terraform-state")}); err != nil {
		t.Fatal(err)
	}
	store := S3Store{API: client, Bucket: "shop-terraform-state", Prefix: "staging/deploykit/"}
	testStore(t, store)
}

func TestDirStore(t *testing.T) {
	testStore(t, DirStore{Dir: t.TempDir()})
}

func testStore(t *testing.T, store Store) {
	t.Helper()
	ctx := context.Background()
	if err := store.Create(ctx, "a.json", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := store.Create(ctx, "a.json", []byte("2")); !errors.Is(err, ErrExists) {
		t.Fatalf("second create = %v, want ErrExists", err)
	}
	if data, err := store.Get(ctx, "a.json"); err != nil || string(data) != "1" {
		t.Fatalf("get = %q, %v", data, err)
	}
	if _, err := store.Get(ctx, "missing.json"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing get = %v", err)
	}

	alice := Lock{Env: "staging", Holder: "alice@laptop", Commit: "abc", Action: "deploy", Started: time.Now().UTC()}
	release, err := AcquireLock(ctx, store, alice, 0, discard{})
	if err != nil {
		t.Fatal(err)
	}
	bob := alice
	bob.Holder = "https://circleci.com/gh/shop/app/7"
	var locked *LockedError
	if _, err := AcquireLock(ctx, store, bob, 0, discard{}); !errors.As(err, &locked) || locked.Held.Holder != "alice@laptop" {
		t.Fatalf("second lock = %v", err)
	}
	if err := ReleaseLock(ctx, store, bob.Holder, false); err == nil {
		t.Fatal("bob released alice's lock without -force")
	}
	release()
	if _, err := ReadLock(ctx, store); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lock after release: %v", err)
	}

	// A truncated lock (a full disk; written by an older version) blocks
	// with its raw bytes shown, and lock:release -force removes it.
	if err := store.Put(ctx, LockKey, []byte(`{"env":"stag`)); err != nil {
		t.Fatal(err)
	}
	var corrupt *CorruptLockError
	if _, err := AcquireLock(ctx, store, alice, 0, discard{}); !errors.As(err, &corrupt) || !strings.Contains(err.Error(), `{\"env\":\"stag`) {
		t.Fatalf("lock over a corrupt one = %v", err)
	}
	if err := ReleaseLock(ctx, store, alice.Holder, false); !errors.As(err, &corrupt) {
		t.Fatalf("release of a corrupt lock without -force = %v", err)
	}
	if err := ReleaseLock(ctx, store, alice.Holder, true); err != nil {
		t.Fatalf("release -force of a corrupt lock: %v", err)
	}
	if _, err := ReadLock(ctx, store); !errors.Is(err, ErrNotFound) {
		t.Fatalf("corrupt lock after release -force: %v", err)
	}

	for i, tag := range []string{"aaa", "bbb", "ccc"} {
		r := Record{Env: "staging", Action: "deploy", Tag: tag, Commit: tag, Result: "succeeded", Started: time.Date(2026, 11, 25, 10, i, 0, 0, time.UTC)}
		if tag == "ccc" {
			r.Result = "failed"
		}
		if err := SaveRecord(ctx, store, r); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := History(ctx, store)
	if err != nil || len(hist) != 3 || hist[0].Tag != "ccc" {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	if last := LastSucceeded(hist); last == nil || last.Tag != "bbb" {
		t.Fatalf("last succeeded = %+v", last)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
