package cron

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// atCase is one generated job: a frequency and an at: string.
type atCase struct {
	every, at string
	// readings are the "minute hour" pairs the text can mean to a person
	// (an unpadded hour without am/pm either half of the day); nil for
	// garbage. A whenever line outside them contradicts the text.
	readings []string
	day      int // the day of month the text names, 0 when none
	month    int // its month, 0 when none
	// family names forms whose readings depend on the frequency:
	// "ordinal" (a day alone), "monthstart" (the first of the month).
	family string
	// expr, when set, is the at: value as Ruby source (an array or a
	// range) instead of the quoted string at; parts are the cases of the
	// same batch that hold each element of an array alone.
	expr  string
	parts []int
}

// genAt writes at: strings from the pieces Chronic reads: hours padded or
// not, ':' or '.', no separator, seconds, am/pm in their spellings,
// noon/midnight, weekday and date words, "at", and values at the edges.
func genAt(rng *rand.Rand) (string, []string, int, int, string) {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	h, m := rng.IntN(24), []int{0, 0, 15, 30, 45, rng.IntN(60)}[rng.IntN(6)]
	if rng.IntN(20) == 0 {
		h = 24 + rng.IntN(2) // 24:xx, 25:xx
	}
	if rng.IntN(30) == 0 {
		m = 60
	}
	mer := ""
	if rng.IntN(2) == 0 {
		mer = pick("am", "pm", "a.m.", "p.m.", "AM", "PM", " am", " pm", " a.m.", " P.M.", "a", "p")
		if rng.IntN(6) != 0 {
			h = 1 + rng.IntN(12)
		}
	}
	sep := pick(":", ":", ":", ".", "")
	padded := rng.IntN(2) == 0
	var t string
	switch style := rng.IntN(6); {
	case style == 0: // hour alone
		m = 0
		if padded {
			t = fmt.Sprintf("%02d", h)
		} else {
			t = strconv.Itoa(h)
		}
	case style == 1 && sep != "": // with seconds
		t = fmt.Sprintf("%d%s%02d%s%02d", h, sep, m, sep, rng.IntN(60))
		padded = false
	default:
		if padded {
			t = fmt.Sprintf("%02d%s%02d", h, sep, m)
		} else {
			t = fmt.Sprintf("%d%s%02d", h, sep, m)
		}
	}
	t += mer
	reading := func(hour int) string {
		total := (hour*60 + m) % (24 * 60)
		return fmt.Sprintf("%d %d", total%60, total/60)
	}
	var readings []string
	day, month := 0, 0
	switch lm := strings.ToLower(strings.TrimSpace(mer)); {
	case lm == "" && (padded || h == 0 || h >= 12):
		readings = []string{reading(h)}
	case lm == "":
		readings = []string{reading(h), reading(h + 12)}
	case h == 12 && lm[0] == 'a':
		readings = []string{reading(0)}
	case h == 12:
		readings = []string{reading(12)}
	case lm[0] == 'a' && h < 12:
		readings = []string{reading(h)}
	case lm[0] == 'p' && h < 12:
		readings = []string{reading(h + 12)}
	default: // 13pm, 24pm, 0am: no one means these; any refusal is fine
		readings = nil
	}
	if m == 60 {
		readings = nil // not a valid minute: any refusal is fine
	}
	family := ""
	switch rng.IntN(16) {
	case 12, 13: // a clock with noon or midnight, spaced, with "at" or attached
		clockText := pick("12", "12:00", "1200", "12.00", "12:00:00", "12pm", "12 pm", "12am", "0", "0:00", "00:00", "24:00", "12:30", "11", "11:00")
		word := pick("noon", "midnight", "Noon", "MIDNIGHT")
		sep := pick(" ", " ", " at ", "")
		if strings.HasSuffix(clockText, "m") {
			sep = pick(" ", " at ") // "12pmnoon" is no one's spelling
		}
		t = clockText + sep + word
		noonClock := map[string]bool{"12": true, "12:00": true, "1200": true, "12.00": true, "12:00:00": true, "12pm": true, "12 pm": true}
		midnightClock := map[string]bool{"12": true, "12:00": true, "1200": true, "12.00": true, "12:00:00": true, "12am": true, "0": true, "0:00": true, "00:00": true, "24:00": true}
		readings = nil // anything else says two different times: any refusal is fine
		switch {
		case strings.EqualFold(word, "noon") && noonClock[clockText]:
			readings = []string{"0 12"}
		case strings.EqualFold(word, "midnight") && midnightClock[clockText]:
			readings = []string{"0 0"}
		}
	case 14: // a day of the month alone
		n := []int{1, 1, 2, 3, 15, 28, 31}[rng.IntN(7)]
		suffix := map[int]string{1: "st", 2: "nd", 3: "rd"}[n]
		if suffix == "" {
			suffix = "th"
		}
		t, readings, day, family = strconv.Itoa(n)+suffix, []string{"0 0"}, n, "ordinal"
	case 15: // the first of the month, with or without a time
		phrase := pick("beginning of the month", "start of the month", "Beginning of the month", "beginning of month")
		if rng.IntN(5) == 0 {
			t, readings = phrase, nil // no time: any refusal is fine
		} else {
			t = phrase + " at " + t
		}
		day, family = 1, "monthstart"
	case 0:
		t = pick("noon", "Noon", "12 noon", "midnight", "Midnight")
		readings = []string{"0 12"}
		if strings.EqualFold(t, "midnight") {
			readings = []string{"0 0"}
		}
	case 1:
		t = pick("monday", "Tue", "friday", "sunday") + pick(" ", " at ") + t
	case 2:
		date := pick("March 3", "march 3rd", "3rd of March", "December 31st", "jan 15", "3/15", "12/1")
		day = map[string]int{"March 3": 3, "march 3rd": 3, "3rd of March": 3, "December 31st": 31, "jan 15": 15, "3/15": 15, "12/1": 1}[date]
		month = map[string]int{"March 3": 3, "march 3rd": 3, "3rd of March": 3, "December 31st": 12, "jan 15": 1, "3/15": 3, "12/1": 12}[date]
		t = date + pick(" ", " at ") + t
	case 3:
		t = "at " + t
	case 4:
		t, readings = pick("4:3o", "4::30", "soon", "4:30 pm pm", ""), nil // garbage
	}
	return t, readings, day, month, family
}

// forFrequency settles the readings of forms whose meaning depends on the
// frequency: the start of the month means nothing to a job that runs more
// often, and a day alone names no month for a yearly one.
func (c *atCase) forFrequency() {
	monthly := strings.Contains(c.every, "month")
	switch {
	case c.family == "monthstart" && !monthly && !strings.Contains(c.every, "year"):
		c.readings = nil
	case c.family == "ordinal" && strings.Contains(c.every, "year"):
		c.readings = nil
	}
}

// genAtExpr writes an at: that is not a string: an array of at: strings
// (%w(), %W[], or a bracketed list of quoted strings) whose elements
// are returned to be cases of their own, or an inclusive or exclusive
// integer range with both ends near the edges of what each frequency takes.
func genAtExpr(rng *rand.Rand, every string) (expr string, elems []atCase) {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	if rng.IntN(2) == 0 {
		// Mostly inside what the frequency takes (minutes, hours, days,
		// months), sometimes one past an edge.
		first, last := 0, 59
		switch {
		case strings.Contains(every, "day") || strings.Contains(every, "week") || strings.HasPrefix(every, ":") && every != ":hour":
			first, last = 0, 23
		case strings.Contains(every, "month"):
			first, last = 1, 31
		case strings.Contains(every, "year"):
			first, last = 1, 12
		}
		lo := first + rng.IntN(last-first+1)
		hi := min(lo+[]int{0, 1, 2, 4, -1}[rng.IntN(5)], last)
		if rng.IntN(40) == 0 {
			// Whenever raises on these: rare, since a batch it fails on is
			// bisected to find the case.
			lo, hi = first-1+rng.IntN(2), last+rng.IntN(2)
		}
		return fmt.Sprintf("%d%s%d", lo, pick("..", "..."), hi), nil
	}
	n := 1 + rng.IntN(3)
	for range n {
		at, readings, day, month, family := genAt(rng)
		if family != "" || at == "" {
			// keep arrays to times; the families are tested alone
			at, readings, day, month = "4:30am", []string{"30 4"}, 0, 0
		}
		elems = append(elems, atCase{at: at, readings: readings, day: day, month: month})
	}
	escaped := func() []string {
		var out []string
		for _, e := range elems {
			out = append(out, strings.ReplaceAll(e.at, " ", `\ `))
		}
		return out
	}
	// (%i() makes symbols, in which Whenever reads no time: refused, and
	// tested on its own in TestPercentLiterals.)
	switch rng.IntN(3) {
	case 0:
		return "%w(" + strings.Join(escaped(), " ") + ")", elems
	case 1:
		return "%W[" + strings.Join(escaped(), " ") + "]", elems
	default:
		var quoted []string
		for _, e := range elems {
			quoted = append(quoted, strconv.Quote(e.at))
		}
		return "[" + strings.Join(quoted, ", ") + "]", elems
	}
}

// genExprEvery adds the sub-daily frequencies, where an integer at: is a
// minute.
func genExprEvery(rng *rand.Rand) string {
	if rng.IntN(3) == 0 {
		return []string{"1.hour", "2.hours", ":hour", "10.minutes", "30.minutes"}[rng.IntN(5)]
	}
	return genEvery(rng)
}

func genEvery(rng *rand.Rand) string {
	return []string{"1.day", "2.days", "3.days", ":day", "1.week", ":monday", ":friday", ":weekday", ":weekend",
		"1.month", "2.months", "1.year"}[rng.IntN(12)]
}

var jobLineRE = regexp.MustCompile(`^(.*) /bin/bash -l -c 'job(\d+)'$`)

// cronLines maps job number -> its crontab timing fields.
func cronLines(crontab string) map[int]string {
	lines := map[int]string{}
	for _, l := range strings.Split(crontab, "\n") {
		if m := jobLineRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			if _, dup := lines[n]; dup {
				lines[n] += "\n" + m[1]
			} else {
				lines[n] = m[1]
			}
		}
	}
	return lines
}

func scheduleOf(cases []atCase, ids []int, hours24 bool) string {
	var b strings.Builder
	if hours24 {
		b.WriteString("set :chronic_options, hours24: true\n")
	}
	for _, i := range ids {
		at := strconv.Quote(cases[i].at)
		if cases[i].expr != "" {
			at = cases[i].expr
		}
		fmt.Fprintf(&b, "every %s, at: %s do\n  command 'job%d'\nend\n", cases[i].every, at, i)
	}
	return b.String()
}

// TestChronicParityWithWhenever generates at: strings and frequencies,
// runs them through our parser and the real whenever, and requires for
// every case either the same crontab line, or our refusal naming the line
// where whenever printed a time the text does not say (Chronic gave up and
// Whenever wrote midnight). DEPLOYKIT_CHRONIC_CASES sets how many (default
// 2000); DEPLOYKIT_CHRONIC_SEED replays another run.
func TestChronicParityWithWhenever(t *testing.T) {
	n := 2000
	if s := os.Getenv("DEPLOYKIT_CHRONIC_CASES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	seed := uint64(20261126)
	if s := os.Getenv("DEPLOYKIT_CHRONIC_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	root := railsRoot(t, false, false)
	const batch = 250
	compared, identical, refused, bothFailed := 0, 0, 0, 0
	for start := 0; start < n; start += batch {
		hours24 := rng.IntN(4) == 0
		var cases []atCase
		var ids []int
		for len(ids) < min(batch, n-start) {
			if rng.IntN(5) == 0 {
				// An array or a range; an array's elements are cases too.
				every := genExprEvery(rng)
				expr, elems := genAtExpr(rng, every)
				if len(elems) > 0 && strings.Contains(every, "minutes") {
					// Whenever raises on a time for a frequency under an
					// hour: keep arrays of times to hourly and longer.
					every = genEvery(rng)
				}
				c := atCase{every: every, expr: expr}
				for _, e := range elems {
					c.parts = append(c.parts, len(cases))
					e.every = c.every
					cases = append(cases, e)
					ids = append(ids, len(cases)-1)
				}
				cases = append(cases, c)
				ids = append(ids, len(cases)-1)
				continue
			}
			at, readings, day, month, family := genAt(rng)
			c := atCase{every: genEvery(rng), at: at, readings: readings, day: day, month: month, family: family}
			c.forFrequency()
			cases = append(cases, c)
			ids = append(ids, len(cases)-1)
		}
		theirs := wheneverLines(t, root, cases, ids, hours24)
		for i, c := range cases {
			compared++
			src := scheduleOf(cases, []int{i}, hours24)
			want, ok := theirs[i]
			if !ok {
				// whenever itself fails on this case alone (Chronic raises):
				// ours must fail too, naming the line.
				if s, err := Parse("schedule.rb", src, ParseOptions{Root: root}); err == nil {
					if _, err := s.Crontab(); err == nil {
						t.Errorf("at: %s every %s: whenever fails on it but we accept it\n%s", cmp.Or(c.expr, strconv.Quote(c.at)), c.every, src)
					}
				}
				bothFailed++
				continue
			}
			s, err := Parse("schedule.rb", src, ParseOptions{Root: root})
			var got string
			if err == nil {
				var tab string
				tab, err = s.Crontab()
				got = cronLines(tab)[i]
			}
			switch {
			case err == nil && got == want:
				identical++
			case err == nil:
				t.Errorf("at: %s every %s (hours24 %v): ours %q, whenever %q\nminimal schedule.rb:\n%s", cmp.Or(c.expr, strconv.Quote(c.at)), c.every, hours24, got, want, src)
			case !strings.Contains(err.Error(), "schedule.rb:"):
				t.Errorf("at: %q: the refusal does not name the line: %v", c.at, err)
			case c.expr != "" && len(c.parts) > 0 && slices.ContainsFunc(c.parts, func(p int) bool {
				w, ok := theirs[p]
				return !ok || contradicts(w, cases[p])
			}):
				refused++ // an element whenever misreads (or fails on)
			case c.expr == "" && contradicts(want, c):
				refused++ // whenever wrote a time the text does not say
			case brokenCron(want):
				refused++ // whenever wrote a line cron cannot read
			default:
				t.Errorf("at: %s every %s (hours24 %v): we refused (%v) but whenever reads it as %q\nminimal schedule.rb:\n%s", cmp.Or(c.expr, strconv.Quote(c.at)), c.every, hours24, err, want, src)
			}
			if t.Failed() && compared > 50 {
				break
			}
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("compared %d at: cases with the real whenever (%d whenever runs): %d identical, %d refused where whenever wrote a time or date the text does not say, %d refused by both", compared, wheneverRuns, identical, refused, bothFailed)
	if compared < n {
		t.Errorf("compared only %d of %d cases", compared, n)
	}
}

// contradicts: whenever's minute and hour are none of the text's readings
// (garbage has none), or it prints a day of the month the text does not
// name for a frequency that prints one.
func contradicts(line string, c atCase) bool {
	f := strings.Fields(line)
	if len(f) < 3 {
		return true
	}
	if c.day != 0 && (strings.Contains(c.every, "month") || strings.Contains(c.every, "year")) && f[2] != strconv.Itoa(c.day) {
		return true
	}
	if c.month != 0 && strings.Contains(c.every, "year") && len(f) > 3 && f[3] != strconv.Itoa(c.month) {
		return true
	}
	for _, r := range c.readings {
		if r == f[0]+" "+f[1] {
			return false
		}
	}
	return true
}

// brokenCron: a line without five timing fields, with an empty element
// in a list ("58,59," when the start is past the field's end), or with a
// number outside its field's bounds ("-1,29,...").
func brokenCron(lines string) bool {
	bounds := [][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}
	for _, l := range strings.Split(lines, "\n") {
		if strings.HasPrefix(l, "@") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 5 {
			return true
		}
		for i, field := range f[:5] {
			for _, part := range strings.Split(field, ",") {
				if part == "" {
					return true
				}
				base, _, _ := strings.Cut(part, "/")
				if base == "*" {
					continue
				}
				lo, hi, isRange := strings.Cut(base, "-")
				if lo == "" { // a leading minus: a negative number
					return true
				}
				for _, n := range []string{lo, hi} {
					if n == "" && !isRange {
						continue
					}
					v, err := strconv.Atoi(n)
					if err != nil {
						if i >= 3 { // month and day names
							continue
						}
						return true
					}
					if v < bounds[i][0] || v > bounds[i][1] {
						return true
					}
				}
			}
		}
	}
	return false
}

var wheneverRuns int

func wheneverLines(t *testing.T, root string, cases []atCase, ids []int, hours24 bool) map[int]string {
	t.Helper()
	wheneverRuns++
	sched := filepath.Join(root, "schedule.rb")
	os.WriteFile(sched, []byte(scheduleOf(cases, ids, hours24)), 0o644)
	out, err := whenever(t, root, sched)
	if err == nil {
		return cronLines(out)
	}
	if len(ids) == 1 {
		if os.Getenv("DEPLOYKIT_CHRONIC_DEBUG") != "" {
			t.Logf("whenever fails on every %s, at: %s", cases[ids[0]].every, cmp.Or(cases[ids[0]].expr, strconv.Quote(cases[ids[0]].at)))
		}
		return map[int]string{}
	}
	// Halves, so a batch with a few failing cases costs a few runs each.
	lines := map[int]string{}
	for _, half := range [][]int{ids[:len(ids)/2], ids[len(ids)/2:]} {
		for k, v := range wheneverLines(t, root, cases, half, hours24) {
			lines[k] = v
		}
	}
	return lines
}
