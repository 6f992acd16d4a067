package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/railsecs/deploykit/mage/imageref"
)

// Registry answers "is this image there, and what is its digest" with a
// manifest HEAD, never a pull.
type Registry struct {
	Host string
	// Auth is nil for an anonymous (loopback) registry.
	Auth authn.Authenticator
}

// Loopback reports whether host is this machine, reached over plain HTTP.
func Loopback(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (r Registry) ref(s string) (name.Reference, error) {
	var opts []name.Option
	if Loopback(r.Host) {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(s, opts...)
}

// Digest returns the manifest digest of ref, or "" when the registry does
// not have it.
func (r Registry) Digest(ctx context.Context, image string) (string, error) {
	ref, err := r.ref(image)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", image, err)
	}
	desc, err := remote.Head(ref, r.options(ctx)...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) {
			switch terr.StatusCode {
			case http.StatusNotFound:
				return "", nil
			case http.StatusUnauthorized, http.StatusForbidden:
				return "", fmt.Errorf("registry %s refused our credentials for %s (HTTP %d): log in again or check the deploy role's ECR permissions", r.Host, image, terr.StatusCode)
			}
		}
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return "", fmt.Errorf("registry %s is unreachable (%v): is it running, and is the address in deploy.hcl right?", r.Host, opErr.Err)
		}
		return "", fmt.Errorf("check %s in the registry: %w", image, err)
	}
	return desc.Digest.String(), nil
}

// IsECR reports whether host is an Amazon ECR registry.
func IsECR(host string) bool { return strings.Contains(host, ".dkr.ecr.") }

// ECRAPI is the ECR call used for registry credentials.
type ECRAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, opts ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
}

// Credentials are a registry login; String never shows the secret.
type Credentials struct {
	Host, Username, Password string
}

func (c Credentials) String() string {
	return fmt.Sprintf("%s@%s (password hidden)", c.Username, c.Host)
}

// ECRLogin exchanges the SDK's AWS credentials for an ECR token.
func ECRLogin(ctx context.Context, api ECRAPI, host string) (Credentials, error) {
	out, err := api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return Credentials{}, fmt.Errorf("ECR GetAuthorizationToken for %s: %w", host, err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return Credentials{}, fmt.Errorf("ECR GetAuthorizationToken for %s returned no token", host)
	}
	raw, err := base64.StdEncoding.DecodeString(*out.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		return Credentials{}, fmt.Errorf("ECR token for %s is not base64", host)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Credentials{}, fmt.Errorf("ECR token for %s is not user:password", host)
	}
	return Credentials{Host: host, Username: user, Password: pass}, nil
}

// Authenticator is the go-containerregistry form of the login.
func (c Credentials) Authenticator() authn.Authenticator {
	return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password})
}

// WriteAuthFile writes the login as a containers/Docker auth file with
// mode 0600 in dir (created 0700): buildah reads it with --authfile and
// docker with DOCKER_CONFIG=dir. Returns the file's path.
func (c Credentials) WriteAuthFile(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create auth dir: %w", err)
	}
	data, err := json.Marshal(map[string]any{"auths": map[string]any{
		c.Host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))},
	}})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.json")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("write auth file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", fmt.Errorf("write auth file: %w", err)
	}
	return path, f.Close()
}

// Platforms lists the os/arch an image in the registry runs on: every
// platform of an index, or the image config's one.
func (r Registry) Platforms(ctx context.Context, image string) ([]string, error) {
	ref, err := r.ref(image)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", image, err)
	}
	desc, err := remote.Get(ref, r.options(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("read %s from the registry: %w", image, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		var out []string
		for _, d := range m.Manifests {
			if d.Platform != nil && d.Platform.OS != "unknown" {
				out = append(out, d.Platform.OS+"/"+d.Platform.Architecture)
			}
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read the config of %s: %w", image, err)
	}
	return []string{cfg.OS + "/" + cfg.Architecture}, nil
}

func (r Registry) options(ctx context.Context) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx)}
	if r.Auth != nil {
		opts = append(opts, remote.WithAuth(r.Auth))
	}
	return opts
}

// Copy copies the manifest srcRef names (an image, or an index with every
// platform), with all its layers, to dstRef in another registry, and
// returns the digest dstRef has there: the same one, since the manifest
// bytes travel unchanged.
func Copy(ctx context.Context, src *Registry, srcRef string, dst *Registry, dstRef string) (string, error) {
	from, err := src.ref(srcRef)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", srcRef, err)
	}
	to, err := dst.ref(dstRef)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", dstRef, err)
	}
	desc, err := remote.Get(from, src.options(ctx)...)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", srcRef, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return "", err
		}
		if err := remote.WriteIndex(to, idx, dst.options(ctx)...); err != nil {
			return "", fmt.Errorf("write %s: %w", dstRef, err)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return "", err
		}
		if err := remote.Write(to, img, dst.options(ctx)...); err != nil {
			return "", fmt.Errorf("write %s: %w", dstRef, err)
		}
	}
	return dst.Digest(ctx, dstRef)
}

// Tags lists the tags of repository (host/path) in the registry.
func (r Registry) Tags(ctx context.Context, repository string) ([]string, error) {
	var opts []name.Option
	if Loopback(r.Host) {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(repository, opts...)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", repository, err)
	}
	tags, err := remote.List(repo, r.options(ctx)...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the tags of %s: %w", repository, err)
	}
	return tags, nil
}

// DeleteManifest deletes the manifest image (repository@digest) names,
// and with it every tag pointing at it: callers make sure no tag they keep
// shares the digest.
func (r Registry) DeleteManifest(ctx context.Context, image string) error {
	ref, err := r.ref(image)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", image, err)
	}
	if _, ok := ref.(name.Digest); !ok {
		return fmt.Errorf("delete %s: a manifest is deleted by digest, not by tag", image)
	}
	if err := remote.Delete(ref, r.options(ctx)...); err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusMethodNotAllowed {
			return fmt.Errorf("delete %s: the registry refuses deletes (a distribution registry needs storage.delete.enabled): %w", image, err)
		}
		return fmt.Errorf("delete %s: %w", image, err)
	}
	return nil
}

// ECRDeleteAPI deletes images through ECR's own API: ECR does not answer
// the registry protocol's DELETE of a manifest.
type ECRDeleteAPI interface {
	BatchDeleteImage(ctx context.Context, in *ecr.BatchDeleteImageInput, opts ...func(*ecr.Options)) (*ecr.BatchDeleteImageOutput, error)
}

// ECRDeleteDigest deletes the image with digest from an ECR repository
// (all its tags with it); image is registry/repository@digest.
func ECRDeleteDigest(ctx context.Context, api ECRDeleteAPI, image string) error {
	ref, err := imageref.ParseRef(image)
	if err != nil {
		return err
	}
	if ref.Digest == "" || !IsECR(ref.Registry) {
		return fmt.Errorf("delete %s: want an ECR image by digest", image)
	}
	account, _, _ := strings.Cut(ref.Registry, ".")
	out, err := api.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{
		RegistryId: &account, RepositoryName: &ref.Repository,
		ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: &ref.Digest}},
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", image, err)
	}
	// BatchDeleteImage answers 200 and lists what it could not delete.
	for _, f := range out.Failures {
		if f.FailureCode == ecrtypes.ImageFailureCodeImageNotFound {
			continue // already gone: the goal is reached
		}
		return fmt.Errorf("delete %s: %s: %s", image, f.FailureCode, aws.ToString(f.FailureReason))
	}
	return nil
}

// Labels reads the config labels of an image in the registry; of an
// index, those of its manifest for platform ("os/arch"), else its first.
func (r Registry) Labels(ctx context.Context, image, platform string) (map[string]string, error) {
	ref, err := r.ref(image)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", image, err)
	}
	opts := r.options(ctx)
	if os, arch, ok := strings.Cut(platform, "/"); ok {
		opts = append(opts, remote.WithPlatform(v1.Platform{OS: os, Architecture: arch}))
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("read %s from the registry: %w", image, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read the config of %s: %w", image, err)
	}
	return cfg.Config.Labels, nil
}
