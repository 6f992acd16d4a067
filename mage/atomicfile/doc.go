// Package atomicfile writes files so that readers see either the old or the
// new content, never a half-written file, and the file keeps its mode.
package atomicfile
