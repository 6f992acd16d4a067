package image

import (
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The named build contexts the toolkit passes to every build.
const (
	// AssetsContext holds only what assets:precompile reads, so a code
	// change elsewhere reuses the precompile layer from the cache.
	AssetsContext = "assets-src"
	// PreviousAssetsContext is the nginx image live before this build (or
	// an empty assets directory for the first): its assets are bridged.
	PreviousAssetsContext = "previous-assets"
	// ToolkitContext holds the toolkit's build scripts (bridge-assets).
	ToolkitContext = "deploykit"
	// AssetInputsLabel carries the hash of an image's asset inputs.
	AssetInputsLabel = "org.railsecs.deploykit.asset-inputs"
	// AssetsKeptLabel lists, in an assets image, the asset-input hashes
	// whose precompiled assets it serves: its own first, then the earlier
	// releases' it kept.
	AssetsKeptLabel = "org.railsecs.deploykit.assets-kept"
	// AssetsDir is where an nginx image keeps the assets, in the empty
	// previous-assets context too.
	AssetsDir = "usr/share/nginx/html/assets"
	// SprocketsCacheContext is the Sprockets cache handed to precompile:
	// the one the live release's precompile left, or an empty directory.
	SprocketsCacheContext = "sprockets-cache"
	// SprocketsCacheTarget is the Dockerfile stage holding the Sprockets
	// cache a precompile leaves; the toolkit pushes it to the layer-cache
	// repository, tagged SprocketsCacheTag of the asset inputs' hash.
	SprocketsCacheTarget = "assets-cache"
	// SprocketsCacheLabel names, on a build's images, the Sprockets cache
	// its precompile was handed ("none" for none): a later build of the
	// same asset inputs is handed the same one, so its precompile step is
	// the same and comes from the layer cache.
	SprocketsCacheLabel = "org.railsecs.deploykit.sprockets-cache"
)

// SprocketsCacheTag is the tag, in the layer-cache repository, of the
// Sprockets cache left by precompiling asset inputs with this hash.
func SprocketsCacheTag(assetInputsHash string) string { return "sprockets-" + assetInputsHash }

// HasStage says whether dockerfile declares the build stage name.
func HasStage(dockerfile, name string) bool {
	stages, err := stagesOf(dockerfile)
	return err == nil && stages[strings.ToLower(name)]
}

//go:embed bridge-assets.sh
var bridgeScript []byte

// BridgeScript is the script the nginx build runs to keep earlier
// releases' assets.
func BridgeScript() []byte { return bridgeScript }

// ImageContext names an image as a build context (BuildKit's syntax;
// buildah's docker:// is derived from it).
func ImageContext(ref string) string { return "docker-image://" + ref }

// StageAssetInputs copies the asset inputs that exist under ctxDir into a
// new directory under tmp, and returns it with a hash of what it holds
// (paths, modes, contents, link targets): equal hashes, equal precompile.
//
// Every staged file and directory gets a modification time derived from
// its content (a file's bytes, a directory's entry names), never the
// working tree's: Sprockets memoizes file and directory digests by path
// and mtime second, so with the previous release's cache handed to
// precompile (the sprockets-cache context) a changed file that kept its
// mtime (a checkout, a restored backup, a tool that resets times) would
// be served stale. With content-derived times an equal (path, mtime) pair
// means equal content, but for a 2^-31 chance per changed file.
func StageAssetInputs(ctxDir string, inputs []string, tmp string) (dir, hash string, err error) {
	dir, err = os.MkdirTemp(tmp, "assets-src-")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	var paths []string
	for _, in := range inputs {
		root := filepath.Join(ctxDir, filepath.FromSlash(in))
		if _, err := os.Lstat(root); err != nil {
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(ctxDir, p)
			if IsRailsKey(rel) {
				return nil // never into the assets stage (asset inputs often name config)
			}
			paths = append(paths, rel)
			return nil
		})
		if err != nil {
			return "", "", fmt.Errorf("asset input %s: %w", in, err)
		}
	}
	sort.Strings(paths)
	paths = slices.Compact(paths) // inputs may overlap (config, config/x)
	for _, rel := range paths {
		src, dst := filepath.Join(ctxDir, rel), filepath.Join(dir, rel)
		info, err := os.Lstat(src)
		if err != nil {
			return "", "", err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", filepath.ToSlash(rel), info.Mode())
		switch {
		case info.IsDir():
			err = os.MkdirAll(dst, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			var target string
			if target, err = os.Readlink(src); err == nil {
				h.Write([]byte(target))
				err = os.Symlink(target, dst)
			}
		case info.Mode().IsRegular():
			err = copyFile(src, dst, info.Mode().Perm(), h)
		}
		if err != nil {
			return "", "", fmt.Errorf("stage asset input %s: %w", rel, err)
		}
		h.Write([]byte{0})
	}
	if err := contentTimes(dir); err != nil {
		return "", "", fmt.Errorf("stage asset inputs: %w", err)
	}
	return dir, hex.EncodeToString(h.Sum(nil))[:32], nil
}

// contentTimes sets the mtime of every file and directory under root
// from its content: a file's from its bytes, a directory's from its
// sorted entry names (what Sprockets digests for a directory), deepest
// first, since setting a time inside a directory does not change the
// directory's. Symbolic links keep theirs: Sprockets stats their target.
func contentTimes(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, p)
		case d.Type().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			sum := sha256.New()
			_, err = io.Copy(sum, f)
			f.Close()
			if err != nil {
				return err
			}
			return setContentTime(p, sum.Sum(nil))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range slices.Backward(dirs) {
		entries, err := os.ReadDir(d) // sorted by name
		if err != nil {
			return err
		}
		sum := sha256.New()
		for _, e := range entries {
			fmt.Fprintf(sum, "%s\x00", e.Name())
		}
		if err := setContentTime(d, sum.Sum(nil)); err != nil {
			return err
		}
	}
	return nil
}

// ContentTime is the mtime a staged asset input with content digest sum
// gets: a second in 2001-2069, spread by the digest's first 31 bits.
func ContentTime(sum []byte) time.Time {
	return time.Unix(1_000_000_000+int64(binary.BigEndian.Uint32(sum)>>1), 0)
}

func setContentTime(path string, sum []byte) error {
	t := ContentTime(sum)
	return os.Chtimes(path, t, t)
}

func copyFile(src, dst string, mode fs.FileMode, h io.Writer) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// TailwindInputs are the paths Tailwind scans for class names, when the
// app under ctxDir uses Tailwind (tailwindcss-rails' config or input
// file): a view change can change the CSS, so precompile reads them.
func TailwindInputs(ctxDir string) []string {
	for _, marker := range []string{"config/tailwind.config.js", "tailwind.config.js", "app/assets/tailwind", "app/assets/stylesheets/application.tailwind.css"} {
		if _, err := os.Stat(filepath.Join(ctxDir, marker)); err == nil {
			return []string{"app/views", "app/helpers", "app/components", "app/javascript"}
		}
	}
	return nil
}

// ToolkitContextDir writes the toolkit's build scripts and settings into
// a new directory under tmp: bridge-assets, and keep-asset-releases (how
// many earlier releases' assets an nginx image keeps).
func ToolkitContextDir(tmp string, keepReleases int) (string, error) {
	dir, err := os.MkdirTemp(tmp, "deploykit-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "bridge-assets"), bridgeScript, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "keep-asset-releases"), []byte(strconv.Itoa(keepReleases)+"\n"), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// EmptyAssetsDir is the previous-assets context of a first release: an
// assets directory with no release in it.
func EmptyAssetsDir(tmp string) (string, error) {
	dir, err := os.MkdirTemp(tmp, "no-previous-assets-")
	if err != nil {
		return "", err
	}
	return dir, os.MkdirAll(filepath.Join(dir, filepath.FromSlash(AssetsDir), ".releases"), 0o755)
}

// KeptAssets is the AssetsKeptLabel of an assets image built from inputs
// with hash own, bridging the assets of an image whose labels are
// previous: own, then previous's own and kept ones, keep of them at most.
func KeptAssets(own string, previous map[string]string, keep int) string {
	out := []string{own}
	var earlier []string
	if h := previous[AssetInputsLabel]; h != "" {
		earlier = append(earlier, h)
	}
	if k := previous[AssetsKeptLabel]; k != "" {
		earlier = append(earlier, strings.Split(k, ",")...)
	}
	for _, h := range earlier {
		if len(out) > keep {
			break
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return strings.Join(out, ",")
}

// ServesAssetsOf says whether an assets image with labels serves the
// assets of an image whose asset-input hash is want.
func ServesAssetsOf(labels map[string]string, want string) bool {
	return want != "" && slices.Contains(strings.Split(labels[AssetsKeptLabel], ","), want)
}
