// Package lineprefix writes output line by line, each line behind a
// prefix, so several streams can share one writer readably.
package lineprefix

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// Writer writes whole lines to W, each behind Prefix; Mu, when several
// Writers share W, keeps their lines from interleaving mid-line.
type Writer struct {
	W      io.Writer
	Prefix string
	Mu     *sync.Mutex
	buf    []byte
}

// New returns a Writer with its own lock.
func New(w io.Writer, prefix string) *Writer {
	return &Writer{W: w, Prefix: prefix, Mu: &sync.Mutex{}}
}

func (p *Writer) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.line(p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}

// Flush writes a last line that had no newline.
func (p *Writer) Flush() {
	if len(p.buf) > 0 {
		p.line(p.buf)
		p.buf = nil
	}
}

func (p *Writer) line(b []byte) {
	p.Mu.Lock()
	defer p.Mu.Unlock()
	fmt.Fprintf(p.W, "%s%s\n", p.Prefix, b)
}
