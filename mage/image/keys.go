package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// RailsKeyGlobs are where a Rails app keeps the keys that decrypt its
// credentials, relative to the Rails root (the build context): in an image
// or a registry cache they hand every secret to whoever can pull.
var RailsKeyGlobs = []string{"config/master.key", "config/credentials/*.key"}

// IsRailsKey says whether rel (slash-separated, from the Rails root) is
// where Rails keeps a key.
func IsRailsKey(rel string) bool {
	for _, g := range RailsKeyGlobs {
		if ok, _ := filepath.Match(g, filepath.ToSlash(rel)); ok {
			return true
		}
	}
	return false
}

// CheckNoRailsKeys refuses a build whose context would send a Rails key to
// the builder: a key file exists in contextDir and the ignore file the
// builder reads (DOCKERFILE.dockerignore beside the Dockerfile, else the
// context's .dockerignore, as BuildKit and buildah choose) does not
// exclude it. Laptops build from the working tree, where master.key lives.
func CheckNoRailsKeys(dockerfile, contextDir string) error {
	var keys []string
	for _, g := range RailsKeyGlobs {
		m, _ := filepath.Glob(filepath.Join(contextDir, filepath.FromSlash(g)))
		keys = append(keys, m...)
	}
	if len(keys) == 0 {
		return nil
	}
	ignoreFile := dockerfile + ".dockerignore"
	if _, err := os.Stat(ignoreFile); err != nil {
		ignoreFile = filepath.Join(contextDir, ".dockerignore")
	}
	var patterns []string
	if f, err := os.Open(ignoreFile); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", ignoreFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return fmt.Errorf("%s: %w", ignoreFile, err)
	}
	var sent []string
	for _, k := range keys {
		rel, _ := filepath.Rel(contextDir, k)
		if excluded, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel)); err != nil || !excluded {
			sent = append(sent, rel)
		}
	}
	if len(sent) == 0 {
		return nil
	}
	sort.Strings(sent)
	return fmt.Errorf("the build context %s holds %v, which %s does not exclude: the key would be in the image and the registry cache. Add these lines to it:\n  config/master.key\n  config/credentials/*.key", contextDir, sent, ignoreFile)
}
