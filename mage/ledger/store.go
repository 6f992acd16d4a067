package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ErrExists is a conditional create that found the object already there.
var ErrExists = errors.New("already exists")

// ErrNotFound is a missing object.
var ErrNotFound = errors.New("not found")

// Store keeps the deploy lock and the release history: S3 next to the
// terraform state, or a directory for the sandbox.
type Store interface {
	// Create writes key only if it does not exist (ErrExists otherwise).
	Create(ctx context.Context, key string, data []byte) error
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string) ([]string, error)
	Where() string
}

// DirStore keeps objects as files.
type DirStore struct{ Dir string }

func (d DirStore) path(key string) string { return filepath.Join(d.Dir, filepath.FromSlash(key)) }

func (d DirStore) Where() string { return d.Dir }

// Create writes the whole content to a temporary file first, then links
// it into place, which fails if key exists: nobody ever sees key created
// but empty (a full disk fails the write, before the lock exists).
func (d DirStore) Create(_ context.Context, key string, data []byte) error {
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, os.ErrExist) {
			return ErrExists
		}
		return err
	}
	return nil
}

func (d DirStore) Put(_ context.Context, key string, data []byte) error {
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (d DirStore) Get(_ context.Context, key string) ([]byte, error) {
	data, err := os.ReadFile(d.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return data, err
}

func (d DirStore) Delete(_ context.Context, key string) error {
	err := os.Remove(d.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (d DirStore) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	root := d.path(prefix)
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !info.IsDir() && !strings.HasSuffix(p, ".tmp") {
			rel, _ := filepath.Rel(d.Dir, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(keys)
	return keys, err
}

// S3API is the part of the S3 client the store uses.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// S3Store keeps objects under Prefix in Bucket. Create uses a conditional
// write (If-None-Match: *), which S3 answers 412 when the key exists.
type S3Store struct {
	API    S3API
	Bucket string
	Prefix string
}

func (s S3Store) key(k string) string { return s.Prefix + k }

func (s S3Store) Where() string { return "s3://" + s.Bucket + "/" + s.Prefix }

func (s S3Store) Create(ctx context.Context, key string, data []byte) error {
	_, err := s.API.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(key)),
		Body: bytes.NewReader(data), IfNoneMatch: aws.String("*"), ContentType: aws.String("application/json")})
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("create s3://%s/%s: %w", s.Bucket, s.key(key), err)
	}
	return nil
}

func (s S3Store) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.API.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(key)),
		Body: bytes.NewReader(data), ContentType: aws.String("application/json")})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.Bucket, s.key(key), err)
	}
	return nil
}

func (s S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.API.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(key))})
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound") {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.Bucket, s.key(key), err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (s S3Store) Delete(ctx context.Context, key string) error {
	_, err := s.API.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(key))})
	if err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.Bucket, s.key(key), err)
	}
	return nil
}

func (s S3Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.API, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(s.key(prefix))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.Bucket, s.key(prefix), err)
		}
		for _, o := range page.Contents {
			keys = append(keys, strings.TrimPrefix(aws.ToString(o.Key), s.Prefix))
		}
	}
	sort.Strings(keys)
	return keys, nil
}
