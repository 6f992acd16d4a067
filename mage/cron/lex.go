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
	// pending holds the rest of a %w() array's tokens.
	pending []token
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
	if len(l.pending) > 0 {
		t := l.pending[0]
		l.pending = l.pending[1:]
		return t, nil
	}
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
	if c == '%' && strings.ContainsRune("wWiI", l.peek(1)) && isPercentDelimiter(l.peek(2)) {
		toks, err := l.percentArray()
		if err != nil {
			return token{}, err
		}
		l.pending = toks[1:]
		return toks[0], nil
	}
	if string(l.src[l.pos:min(l.pos+3, len(l.src))]) == "..." {
		l.pos += 3
		return token{kind: tPunct, text: "...", line: line}, nil
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

// isPercentDelimiter: what may open a %w() literal (Ruby takes any
// non-alphanumeric, non-space character).
func isPercentDelimiter(c rune) bool {
	return c != 0 && !unicode.IsLetter(c) && !unicode.IsDigit(c) && !unicode.IsSpace(c)
}

// percentArray reads %w(...), %W(...), %i(...) or %I(...) as Ruby does
// (words split on whitespace, a backslash escaping whitespace, the
// delimiter or itself; brackets nest) and returns it as the tokens of the
// array literal it means: [ "a" , "b" ] or [ :a , :b ].
func (l *lexer) percentArray() ([]token, error) {
	line := l.line
	kind := l.peek(1)
	open := l.peek(2)
	l.pos += 3
	closer := map[rune]rune{'(': ')', '[': ']', '{': '}', '<': '>'}[open]
	if closer == 0 {
		closer = open
	}
	toks := []token{{kind: tPunct, text: "[", line: line}}
	var word strings.Builder
	inWord := false
	emit := func() {
		if !inWord {
			return
		}
		if len(toks) > 1 {
			toks = append(toks, token{kind: tPunct, text: ",", line: line})
		}
		t := token{kind: tString, text: word.String(), line: line}
		if kind == 'i' || kind == 'I' {
			t.kind = tSymbol
		}
		toks = append(toks, t)
		word.Reset()
		inWord = false
	}
	depth := 0
	for {
		c := l.peek(0)
		switch {
		case c == 0:
			return nil, &SyntaxError{File: l.file, Line: line, Msg: fmt.Sprintf("unterminated %%%c literal", kind)}
		case c == '\\' && l.peek(1) != 0:
			n := l.peek(1)
			l.pos += 2
			inWord = true
			switch {
			case n == '\n':
				l.line++
				word.WriteRune(n)
			case unicode.IsSpace(n) || n == '\\' || n == open || n == closer:
				word.WriteRune(n)
			case (kind == 'W' || kind == 'I') && n == 'n':
				word.WriteRune('\n')
			case (kind == 'W' || kind == 'I') && n == 't':
				word.WriteRune('\t')
			case kind == 'W' || kind == 'I':
				word.WriteRune(n)
			default:
				word.WriteRune('\\')
				word.WriteRune(n)
			}
		case (kind == 'W' || kind == 'I') && c == '#' && l.peek(1) == '{':
			return nil, &SyntaxError{File: l.file, Line: line, Msg: fmt.Sprintf("#{...} inside %%%c() is not supported: write the array with quoted strings", kind)}
		case c == open && closer != open:
			depth++
			word.WriteRune(c)
			inWord = true
			l.pos++
		case c == closer && depth > 0:
			depth--
			word.WriteRune(c)
			l.pos++
		case c == closer:
			l.pos++
			emit()
			return append(toks, token{kind: tPunct, text: "]", line: line}), nil
		case unicode.IsSpace(c):
			if c == '\n' {
				l.line++
			}
			emit()
			l.pos++
		default:
			word.WriteRune(c)
			inWord = true
			l.pos++
		}
	}
}
