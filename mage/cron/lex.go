package cron

import (
	"fmt"
	"strings"
	"unicode"
)

type tokKind int

const (
	tEOF tokKind = iota
	tNewline
	tIdent  // every, runner, ENV, do, end, ...
	tSymbol // :monday
	tString
	tInt
	tPunct // , . .. ( ) [ ] { } => == != && || ! :
	tLabel // at: (hash key in Ruby 1.9 style)
)

type token struct {
	kind tokKind
	text string // identifier, symbol name, string value, punctuation
	num  int64
	line int
	// parts of a double-quoted string with #{...}: raw code per interpolation
	interp []string
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tNewline:
		return "end of line"
	case tString:
		return fmt.Sprintf("%q", t.text)
	case tSymbol:
		return ":" + t.text
	case tInt:
		return fmt.Sprint(t.num)
	case tLabel:
		return t.text + ":"
	}
	return "'" + t.text + "'"
}

// SyntaxError is a schedule file problem at a line.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

type lexer struct {
	src  []rune
	pos  int
	line int
	file string
	toks []token
}

func lex(file, src string) ([]token, error) {
	l := &lexer{src: []rune(src), line: 1, file: file}
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		l.toks = append(l.toks, t)
		if t.kind == tEOF {
			return l.toks, nil
		}
	}
}

func (l *lexer) errf(format string, args ...any) error {
	return &SyntaxError{File: l.file, Line: l.line, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) peek(off int) rune {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

func (l *lexer) next() (token, error) {
	for {
		c := l.peek(0)
		switch {
		case c == 0:
			return token{kind: tEOF, line: l.line}, nil
		case c == '#':
			for l.peek(0) != '\n' && l.peek(0) != 0 {
				l.pos++
			}
			continue
		case c == '\\' && l.peek(1) == '\n':
			l.pos += 2
			l.line++
			continue
		case c == '\n' || c == ';':
			l.pos++
			t := token{kind: tNewline, line: l.line}
			if c == '\n' {
				l.line++
			}
			return t, nil
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
			continue
		}
		break
	}
	c := l.peek(0)
	line := l.line
	switch {
	case c == '\'' || c == '"':
		return l.string(c)
	case c == ':' && l.peek(1) == '"':
		l.pos++
		t, err := l.string('"')
		t.kind = tSymbol
		return t, err
	case c == ':' && (unicode.IsLetter(l.peek(1)) || l.peek(1) == '_'):
		l.pos++
		start := l.pos
		for unicode.IsLetter(l.peek(0)) || unicode.IsDigit(l.peek(0)) || l.peek(0) == '_' || l.peek(0) == '?' || l.peek(0) == '!' {
			l.pos++
		}
		return token{kind: tSymbol, text: string(l.src[start:l.pos]), line: line}, nil
	case unicode.IsDigit(c):
		var n int64
		for unicode.IsDigit(l.peek(0)) || (l.peek(0) == '_' && unicode.IsDigit(l.peek(1))) {
			if l.peek(0) != '_' {
				n = n*10 + int64(l.peek(0)-'0')
			}
			l.pos++
		}
		return token{kind: tInt, num: n, line: line}, nil
	case unicode.IsLetter(c) || c == '_' || c == '@':
		start := l.pos
		l.pos++
		for unicode.IsLetter(l.peek(0)) || unicode.IsDigit(l.peek(0)) || l.peek(0) == '_' {
			l.pos++
		}
		if l.peek(0) == '?' || l.peek(0) == '!' {
			l.pos++
		}
		word := string(l.src[start:l.pos])
		// "at: ..." hash label, but not "::"
		if l.peek(0) == ':' && l.peek(1) != ':' {
			l.pos++
			return token{kind: tLabel, text: word, line: line}, nil
		}
		return token{kind: tIdent, text: word, line: line}, nil
	}
	for _, p := range []string{"=>", "==", "!=", "&&", "||", "..", "::"} {
		if strings.HasPrefix(string(l.src[l.pos:min(l.pos+2, len(l.src))]), p) {
			l.pos += 2
			return token{kind: tPunct, text: p, line: line}, nil
		}
	}
	if strings.ContainsRune(",.()[]{}!=-", c) {
		l.pos++
		return token{kind: tPunct, text: string(c), line: line}, nil
	}
	return token{}, l.errf("unexpected character %q", c)
}

func (l *lexer) string(q rune) (token, error) {
	line := l.line
	l.pos++
	var b strings.Builder
	var interp []string
	for {
		c := l.peek(0)
		switch {
		case c == 0:
			return token{}, &SyntaxError{File: l.file, Line: line, Msg: "unterminated string"}
		case c == q:
			l.pos++
			return token{kind: tString, text: b.String(), line: line, interp: interp}, nil
		case c == '\n':
			l.line++
			b.WriteRune(c)
			l.pos++
		case c == '\\':
			n := l.peek(1)
			l.pos += 2
			if q == '\'' {
				if n == '\'' || n == '\\' {
					b.WriteRune(n)
				} else {
					b.WriteRune('\\')
					b.WriteRune(n)
				}
				continue
			}
			switch n {
			case 'n':
				b.WriteRune('\n')
			case 't':
				b.WriteRune('\t')
			case 's':
				b.WriteRune(' ')
			case '0':
				b.WriteRune(0)
			case '\n':
				l.line++
			default:
				b.WriteRune(n)
			}
		case q == '"' && c == '#' && l.peek(1) == '{':
			l.pos += 2
			start := l.pos
			depth := 1
			for depth > 0 {
				switch l.peek(0) {
				case 0, '\n':
					return token{}, &SyntaxError{File: l.file, Line: line, Msg: "unterminated #{...} in string"}
				case '{':
					depth++
				case '}':
					depth--
				}
				l.pos++
			}
			interp = append(interp, string(l.src[start:l.pos-1]))
			b.WriteString("\x00") // placeholder, replaced by the evaluated code
		default:
			b.WriteRune(c)
			l.pos++
		}
	}
}
