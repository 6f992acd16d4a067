package cron

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
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
}

// genAt writes at: strings from the pieces Chronic reads: hours padded or
// not, ':' or '.', no separator, seconds, am/pm in their spellings,
// noon/midnight, weekday and date words, "at", and values at the edges.
func genAt(rng *rand.Rand) (string, []string, int, int) {
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
	switch rng.IntN(12) {
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
	return t, readings, day, month
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
		fmt.Fprintf(&b, "every %s, at: %q do\n  command 'job%d'\nend\n", cases[i].every, cases[i].at, i)
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
		for i := 0; i < min(batch, n-start); i++ {
			at, readings, day, month := genAt(rng)
			cases = append(cases, atCase{every: genEvery(rng), at: at, readings: readings, day: day, month: month})
			ids = append(ids, i)
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
						t.Errorf("at: %q every %s: whenever fails on it but we accept it\n%s", c.at, c.every, src)
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
				t.Errorf("at: %q every %s (hours24 %v): ours %q, whenever %q\nminimal schedule.rb:\n%s", c.at, c.every, hours24, got, want, src)
			case !strings.Contains(err.Error(), "schedule.rb:"):
				t.Errorf("at: %q: the refusal does not name the line: %v", c.at, err)
			case contradicts(want, c):
				refused++ // whenever wrote a time the text does not say
			default:
				t.Errorf("at: %q every %s (hours24 %v): we refused (%v) but whenever reads it as %q\nminimal schedule.rb:\n%s", c.at, c.every, hours24, err, want, src)
			}
			if t.Failed() && compared > 50 {
				break
			}
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("compared %d at: cases with the real whenever: %d identical, %d refused where whenever wrote a time or date the text does not say, %d refused by both", compared, identical, refused, bothFailed)
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

// wheneverLines runs whenever once on the whole batch; when one case makes
// it fail, each case is run alone so the others still count.
func wheneverLines(t *testing.T, root string, cases []atCase, ids []int, hours24 bool) map[int]string {
	t.Helper()
	sched := filepath.Join(root, "schedule.rb")
	os.WriteFile(sched, []byte(scheduleOf(cases, ids, hours24)), 0o644)
	out, err := whenever(t, root, sched)
	if err == nil {
		return cronLines(out)
	}
	if len(ids) == 1 {
		return map[int]string{}
	}
	lines := map[int]string{}
	for _, i := range ids {
		for k, v := range wheneverLines(t, root, cases, []int{i}, hours24) {
			lines[k] = v
		}
	}
	return lines
}
