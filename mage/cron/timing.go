package cron

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Whenever's unit lengths in seconds.
const (
	minute = 60
	hour   = 3600
	day    = 86400
	month  = 2592000
	year   = 31557600
)

var (
	days       = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	months     = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	keywords   = []string{"reboot", "yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly"}
	rawCronRE  = regexp.MustCompile(`(?i)^(@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)|((\*?[\d/,\-]*)\s){3}(\*?([\d/,\-]|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))*\s)(\*?([\d/,\-]|(sun|mon|tue|wed|thu|fri|sat))*))$`)
	dayGivenRE = regexp.MustCompile(`\d/\d`)
)

// clock is a parsed at: time (what Whenever reads from Chronic's Time).
type clock struct {
	hour, min, month, day int
	// noDate: Chronic gave up on the text and Whenever's midnight is right
	// only for the time; its day and month (the 1st, January) are not the
	// text's, so frequencies that print them refuse it. noDateWhy says why
	// Chronic gave up ("" for hours24's 12am).
	noDate    bool
	noDateWhy string
	// monthStart: the text names the first of the month ("beginning of the
	// month at 2am"), which a frequency under a month cannot honour.
	monthStart bool
}

// atValue is an at: after parsing: a clock, an integer, a range, or none.
type atValue struct {
	given   any // the original at: value, for day_given?
	isClock bool
	clock   clock
	num     int64
	isRange bool
	rng     Range
}

func (a atValue) positive() bool { return a.isClock || a.isRange || a.num > 0 }

// timing renders one frequency with one at: as a cron time spec (five
// fields or an @shortcut), following Whenever's Output::Cron.
func timing(every any, at atValue) (string, error) {
	switch t := every.(type) {
	case Seconds:
		return parseTime(int64(t), at)
	case int64:
		return parseTime(t, at)
	case Symbol:
		name := string(t)
		for _, k := range keywords {
			if name == k {
				if at.isClock || at.num > 0 {
					return "", fmt.Errorf("you cannot specify an :at when using the shortcuts for times (every :%s)", name)
				}
				return "@" + name, nil
			}
		}
		switch name {
		case "year":
			return parseTime(year, at)
		case "day":
			return parseTime(day, at)
		case "month":
			return parseTime(month, at)
		case "week":
			return parseTime(604800, at)
		case "hour":
			return parseTime(hour, at)
		case "minute":
			return parseTime(minute, at)
		}
		return parseAsString(name, at)
	case string:
		if rawCronRE.MatchString(t) {
			return t, nil
		}
		return parseAsString(t, at)
	}
	return "", fmt.Errorf("cannot read %v as a frequency", every)
}

func parseTime(secs int64, at atValue) (string, error) {
	f := []string{"*", "*", "*", "*", "*"}
	atNum := func(valid Range, name string) (string, error) { return rangeOrInteger(at, valid, name) }
	var err error
	switch {
	case secs < minute:
		return "", fmt.Errorf("time must be in minutes or higher")
	case secs < month && at.isClock && at.clock.monthStart:
		return "", fmt.Errorf("at: %q names the start of the month, but the job runs more often than monthly (Whenever would run it at that time on every run): use every 1.month", at.given)
	case secs < hour:
		start := int64(0)
		switch {
		case at.isClock:
			return "", fmt.Errorf("an at: time means nothing for a frequency under an hour")
		case at.isRange:
			return "", fmt.Errorf("an at: range means nothing for a frequency under an hour")
		default:
			start = at.num
		}
		if start < 0 || start > 59 {
			// Whenever writes an empty minute field: a broken crontab line.
			return "", fmt.Errorf("at: %d is not a minute (0-59): Whenever would write a broken crontab line", start)
		}
		f[0] = commaSeparated(secs/60, 59, start)
	case secs < day:
		if at.isClock {
			f[0] = strconv.Itoa(at.clock.min)
		} else if f[0], err = atNum(Range{0, 59}, "Minute"); err != nil {
			return "", err
		}
		f[1] = commaSeparated(roundDiv(secs, hour), 23, 0)
	case secs < month:
		f[0], f[1] = "0", ""
		if at.isClock {
			f[0], f[1] = strconv.Itoa(at.clock.min), strconv.Itoa(at.clock.hour)
		} else if f[1], err = atNum(Range{0, 23}, "Hour"); err != nil {
			return "", err
		}
		f[2] = commaSeparated(roundDiv(secs, day), 31, 1)
	case secs < year:
		f[0], f[1] = "0", "0"
		switch {
		case at.isClock && at.clock.noDate && at.clock.day != 1:
			return "", errNoDate(at)
		case at.isClock:
			f[0], f[1] = strconv.Itoa(at.clock.min), strconv.Itoa(at.clock.hour)
			f[2] = "1"
			if dayGiven(at.given) {
				f[2] = strconv.Itoa(at.clock.day)
			}
		case !at.isRange && at.num == 0:
			f[2] = "1"
		default:
			if f[2], err = atNum(Range{1, 31}, "Day"); err != nil {
				return "", err
			}
		}
		f[3] = commaSeparated(roundDiv(secs, month), 12, 1)
	case secs == year:
		f[0], f[1], f[2] = "0", "0", "1"
		switch {
		case at.isClock && at.clock.noDate && (at.clock.day != 1 || at.clock.month != 1):
			return "", errNoDate(at)
		case at.isClock:
			f[0], f[1] = strconv.Itoa(at.clock.min), strconv.Itoa(at.clock.hour)
			f[3] = "1"
			if dayGiven(at.given) {
				f[2], f[3] = strconv.Itoa(at.clock.day), strconv.Itoa(at.clock.month)
			}
		case !at.isRange && at.num == 0:
			f[3] = "1"
		default:
			if f[3], err = atNum(Range{1, 12}, "Month"); err != nil {
				return "", err
			}
		}
	default:
		return "", fmt.Errorf("a frequency of %d seconds is longer than a year and not a whole year: Whenever cannot express it", secs)
	}
	return strings.Join(f, " "), nil
}

func errNoDate(at atValue) error {
	if at.clock.noDateWhy != "" {
		return fmt.Errorf("at: %v: %s", at.given, at.clock.noDateWhy)
	}
	return fmt.Errorf("at: %v: with hours24 Chronic cannot read this date and time, and Whenever would silently use the 1st of the month: write the time as 0:00", at.given)
}

// roundDiv is Ruby's (a / b).round on integers: integer division first.
func roundDiv(a, b int64) int64 { return a / b }

func dayGiven(given any) bool {
	s, ok := given.(string)
	if !ok {
		return false
	}
	lower := strings.ToLower(s)
	for _, m := range months {
		if strings.Contains(lower, m) {
			return true
		}
	}
	return dayGivenRE.MatchString(s)
}

func parseAsString(s string, at atValue) (string, error) {
	if at.isClock && at.clock.monthStart {
		return "", fmt.Errorf("at: %q names the start of the month, but every %s runs weekly or on set days: use every 1.month", at.given, s)
	}
	f := []string{"0", "0", "*", "*"}
	if at.isClock {
		f[0], f[1] = strconv.Itoa(at.clock.min), strconv.Itoa(at.clock.hour)
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "weekday") {
		return strings.Join(append(f, "1-5"), " "), nil
	}
	if strings.Contains(lower, "weekend") {
		return strings.Join(append(f, "6,0"), " "), nil
	}
	for i, d := range days {
		if strings.Contains(lower, d) {
			return strings.Join(append(f, strconv.Itoa(i)), " "), nil
		}
	}
	return "", fmt.Errorf("couldn't parse %q as a frequency", s)
}

func rangeOrInteger(at atValue, valid Range, name string) (string, error) {
	must := fmt.Sprintf("%s must be between %d-%d", name, valid.Lo, valid.Hi)
	if at.isRange {
		lo, hi := at.rng.Lo, at.rng.Hi
		if hi < lo {
			return "", fmt.Errorf("%s, an empty range %d..%d given", must, lo, hi)
		}
		if lo < valid.Lo || lo > valid.Hi {
			return "", fmt.Errorf("%s, %d given", must, lo)
		}
		if hi < valid.Lo || hi > valid.Hi {
			return "", fmt.Errorf("%s, %d given", must, hi)
		}
		return fmt.Sprintf("%d-%d", lo, hi), nil
	}
	if at.num < valid.Lo || at.num > valid.Hi {
		return "", fmt.Errorf("%s, %d given", must, at.num)
	}
	return strconv.FormatInt(at.num, 10), nil
}

// commaSeparated is Whenever's comma_separated_timing.
func commaSeparated(freq, max, start int64) string {
	if freq == 0 {
		return strconv.FormatInt(start, 10)
	}
	if freq == 1 {
		return "*"
	}
	half := (max + 1) / 2 // (max * 0.5).ceil
	if freq > half {
		return strconv.FormatInt(freq, 10)
	}
	original := start
	if !((max+1)%freq == 0 || start > 0) {
		start += freq
	}
	var out []string
	for v := start; v <= max; v += freq {
		out = append(out, strconv.FormatInt(v, 10))
	}
	maxOcc := int(roundHalfUp(float64(max) / float64(freq)))
	if original == 0 {
		maxOcc++
	}
	if maxOcc < len(out) {
		out = out[:maxOcc]
	}
	return strings.Join(out, ",")
}

// roundHalfUp is Ruby's Float#round for positive numbers.
func roundHalfUp(f float64) float64 { return float64(int64(f + 0.5)) }

// at readings ---------------------------------------------------------
//
// Whenever hands an at: string to Chronic (Chronic.parse(at,
// chronic_options)) and keeps the hour and minute of the Time it gets
// (and the day and month, when the text names a month or is d/d). The
// subset read here, and how each form resolves, follows Chronic 0.10
// (gitlab-chronic 0.10.5, what Debian's whenever uses):
//
//   - Normalizing first, as Chronic's pre_normalize: lower case; "a.m."
//     and "p.m." become am/pm; every other '.' becomes ':' ("1.15am" is
//     1:15am, "10.30" is 10:30); commas are spaces; a leading zero before
//     a pm time is dropped ("04:30pm" is 4:30pm); "noon" is 12:00pm and
//     "midnight" 24:00; "4a" is 4am; "0430pm" is 04:30pm; "at" is a
//     separator.
//   - A time is one to four digits, with ':' between hours, minutes and
//     seconds ("4", "04", "430", "0430", "16:30", "4:30:15"); three or
//     four digits without ':' end in the minutes. Seconds are dropped.
//   - Ambiguity (without hours24): a time is ambiguous when its hour is
//     written with one digit and is not 0, or is 10, 11 or 12; an
//     ambiguous 12 counts as 0. A leading zero ("04:30", "09:00") makes
//     the hour unambiguous: 04:30 is 4:30 in the morning.
//   - With am/pm, an hour under 12 is moved to the afternoon by pm; 12am
//     is 0:00 and 12pm 12:00. Without am/pm, an ambiguous time earlier than
//     6:00 (Chronic's ambiguous_time_range) is in the afternoon: "4:30" is
//     16:30, "12:30" 12:30, "10:15" 10:15.
//   - With hours24: true nothing is ambiguous; am times and 12pm read as
//     written; other pm times are refused (Chronic gives up on them and
//     Whenever silently schedules midnight), as are "16:30am" and
//     "0:30pm" without it. 24:xx is xx minutes past midnight.
//   - Minutes and hours add up as Chronic adds them: 10:60 is 11:00,
//     25:43 is 1:43. "12 noon" is noon. A text that starts with "at" is
//     refused: Chronic reads nothing in it.
//   - A date before or after the time: a weekday ("monday at 4:30"), a
//     month and day ("march 3 4pm", "3rd of march at 4pm", "march 3rd"),
//     or d/d ("3/15 4pm"); a date alone means noon.
//
// Anything else is refused, naming the line: Chronic reads much more, but
// for the rest Whenever's crontab depends on the day it runs ("march" is
// the 16th of March today), or Chronic gives up and Whenever silently
// writes midnight ("15th at 4am", "25:00").

var (
	timeTokenRE = regexp.MustCompile(`^\d{1,2}(:?\d{1,2})?([:]?\d{1,2}([:]\d{1,6})?)?$`)
	monthDayRE  = regexp.MustCompile(`^([a-z]{3,9})\s+(\d{1,2})(?:st|nd|rd|th)?(?:\s+(.*))?$`)
	dayMonthRE  = regexp.MustCompile(`^(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})(?:\s+(.*))?$`)
	slashRE     = regexp.MustCompile(`^(\d{1,2})\s*/\s*(\d{1,2})(?:\s*/\s*\d{2,4})?(?:\s+(.*))?$`)
	weekdayRE   = regexp.MustCompile(`^(sun|mon|tue|tues|wed|thu|thur|thurs|fri|sat)[a-z]*(?:\s+(.*))?$`)
)

// chronicNormalize is the part of Chronic's pre_normalize that at: times use.
func chronicNormalize(s string) string {
	t := strings.ToLower(strings.TrimSpace(s))
	t = regexp.MustCompile(`\b([ap])\.m\.?`).ReplaceAllString(t, "${1}m")
	t = strings.ReplaceAll(t, ".", ":")
	t = regexp.MustCompile(`([ap]):m:?`).ReplaceAllString(t, "${1}m")
	t = strings.NewReplacer("'", "", "\"", "", ",", " ").Replace(t)
	t = regexp.MustCompile(`(?:^|\s)0(\d+:\d+\s*pm?\b)`).ReplaceAllString(t, " ${1}")
	t = regexp.MustCompile(`\bnoon\b`).ReplaceAllString(t, "12:00pm")
	t = regexp.MustCompile(`\bmidnight\b`).ReplaceAllString(t, "24:00")
	t = regexp.MustCompile(`\b\d+:?\d*[ap]\b`).ReplaceAllString(t, "${0}m")
	t = regexp.MustCompile(`\b(\d{2})(\d{2})(am|pm)\b`).ReplaceAllString(t, "${1}:${2}${3}")
	t = regexp.MustCompile(`(\d)([ap]m)\b`).ReplaceAllString(t, "${1} ${2}")
	return strings.Join(strings.Fields(t), " ")
}

// chronicTime reads a time token as Chronic's RepeaterTime does: seconds
// since midnight (seconds dropped) and whether it is ambiguous.
func chronicTime(tok string, hours24 bool) (hour, min int, ambiguous bool, ok bool) {
	if !timeTokenRE.MatchString(tok) {
		return 0, 0, false, false
	}
	parts := strings.Split(tok, ":")
	if len(parts) > 4 {
		return 0, 0, false, false
	}
	if len(parts) == 1 && len(parts[0]) > 2 {
		p := parts[0]
		if len(p) > 4 {
			p = p[:len(p)-2] // seconds, dropped
		}
		parts = []string{p[:len(p)-2], p[len(p)-2:]}
	}
	hour = atoi(parts[0])
	if !hours24 {
		ambiguous = (len(parts[0]) == 1 && hour > 0) || (hour >= 10 && hour <= 12)
		if hour == 12 && ambiguous {
			hour = 0
		}
	}
	if len(parts) > 1 {
		min = atoi(parts[1])
	}
	return hour, min, ambiguous, true
}

var (
	// ordinalRE: a day of the month alone ("1st", "15th"). Chronic reads
	// nothing in it and Whenever writes midnight of the 1st (monthly).
	ordinalRE = regexp.MustCompile(`^(\d{1,2})(st|nd|rd|th)$`)
	// noonMidnightRE: a clock with noon or midnight ("12:00 noon", "12
	// midnight", "0:00 at midnight", "12midnight").
	noonMidnightRE = regexp.MustCompile(`^(\d[\d:.]*(?:\s*[ap]\.?m\.?)?)(\s+at\s+|\s+|)(noon|midnight)$`)
	// monthStartRE: Chronic's first day of the month.
	monthStartRE = regexp.MustCompile(`^(?:beginning|start) of (?:the )?month(?:\s+at\s+(.+))?$`)
)

// parseWholeForms reads the at: texts that are one phrase as a whole: a day
// of the month alone, "last day", the start of the month with a time, and a
// clock followed by noon or midnight. ok is false for anything else.
func parseWholeForms(s string, hours24 bool) (c clock, ok bool, err error) {
	lower := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	if m := ordinalRE.FindStringSubmatch(lower); m != nil {
		return clock{noDate: true, day: atoi(m[1]),
			noDateWhy: "Chronic reads no date in a day of the month alone, and Whenever would silently run the job at midnight on the 1st: write it as a monthly job with at: 0 and the day in cron syntax ('0 0 " + m[1] + " * *')"}, true, nil
	}
	if lower == "last day" || strings.HasPrefix(lower, "last day ") {
		return clock{}, true, fmt.Errorf("at: %q: Chronic reads \"last day\" as yesterday at noon, and Whenever would run the job at noon on the 1st: write the day in cron syntax", s)
	}
	if m := monthStartRE.FindStringSubmatch(lower); m != nil {
		if m[1] == "" {
			return clock{}, true, fmt.Errorf("at: %q names no time (Whenever would use noon): say it, as in 'beginning of the month at 2am'", s)
		}
		c, err := parseClock(m[1], hours24)
		if err != nil {
			return clock{}, true, fmt.Errorf("at: %q: %w", s, err)
		}
		if c.month != 0 || c.day != 0 || c.noDate {
			return clock{}, true, fmt.Errorf("at: %q names a date after the start of the month", s)
		}
		c.day, c.monthStart = 1, true
		return c, true, nil
	}
	if m := noonMidnightRE.FindStringSubmatch(lower); m != nil {
		c, err := parseClock(m[1], hours24)
		if err != nil || c.month != 0 || c.day != 0 || c.noDate {
			return clock{}, true, fmt.Errorf("at: %q: %q is not a time (Whenever would silently schedule midnight)", s, m[1])
		}
		pm := strings.Contains(m[1], "p")
		switch {
		case m[3] == "noon" && m[2] != "" && c.hour == 12 && c.min == 0:
			return clock{hour: 12}, true, nil // "12:00 noon": Chronic reads noon
		case m[3] == "noon":
			return clock{}, true, fmt.Errorf("at: %q: Chronic reads noon only after a separate 12:00 (\"12:00 noon\"); here it gives up and Whenever would silently schedule midnight", s)
		case c.min == 0 && (c.hour == 0 || c.hour == 12 && !pm):
			return clock{}, true, nil // "12 midnight", "0:00 midnight": Whenever's midnight is right
		default:
			return clock{}, true, fmt.Errorf("at: %q: %s is not midnight, and Whenever would schedule midnight", s, m[1])
		}
	}
	return clock{}, false, nil
}

// parseClock reads an at: string as Chronic does for the forms above.
func parseClock(s string, hours24 bool) (clock, error) {
	if c, ok, err := parseWholeForms(s, hours24); ok {
		return c, err
	}
	norm := chronicNormalize(strings.ReplaceAll(strings.ToLower(s), "12 noon", "noon"))
	if rest, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(s)), "at "); ok {
		// Chronic returns nothing for a text that starts with "at", and
		// Whenever silently writes midnight: right only for midnight.
		if c, err := parseClock(rest, hours24); err == nil && c == (clock{}) {
			return c, nil
		}
		return clock{}, fmt.Errorf("at: %q starts with \"at\", which Chronic cannot read (Whenever would silently schedule midnight): drop it", s)
	}
	var c clock
	rest := norm
	dated, named := false, false // named: the date has a month name
	weekday := false
	if m := monthDayRE.FindStringSubmatch(norm); m != nil && monthIndex(m[1]) > 0 {
		c.month, c.day, rest, dated, named = monthIndex(m[1]), atoi(m[2]), m[3], true, true
	} else if m := dayMonthRE.FindStringSubmatch(norm); m != nil && monthIndex(m[2]) > 0 {
		c.day, c.month, rest, dated, named = atoi(m[1]), monthIndex(m[2]), m[3], true, true
	} else if m := slashRE.FindStringSubmatch(norm); m != nil {
		c.month, c.day, rest, dated = atoi(m[1]), atoi(m[2]), m[3], true
	} else if m := weekdayRE.FindStringSubmatch(norm); m != nil {
		rest, weekday = m[2], true
	}
	if dated && (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31) {
		return clock{}, fmt.Errorf("at: %q is not a valid date", s)
	}
	// "at" separates a date from its time ("March 3 at 0453").
	atSep := false
	if after, ok := strings.CutPrefix(rest, "at "); ok {
		rest, atSep = after, true
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		if !dated {
			return clock{}, fmt.Errorf("at: %q is not a time", s)
		}
		c.hour = 12 // Chronic: a bare date means noon
		return c, nil
	}
	if !dated && len(fields) > 1 {
		// a time before a date: "4pm march 3"
		if m := monthDayRE.FindStringSubmatch(strings.Join(fields[1:], " ")); m != nil && monthIndex(m[1]) > 0 && m[3] == "" && !strings.HasSuffix(fields[1], "m") {
			c.month, c.day, fields = monthIndex(m[1]), atoi(m[2]), fields[:1]
		}
	}
	hour, min, ambiguous, ok := chronicTime(fields[0], hours24)
	mer := ""
	if len(fields) == 2 && (fields[1] == "am" || fields[1] == "pm") {
		mer = fields[1]
	} else if len(fields) != 1 {
		ok = false
	}
	unreadable := fmt.Errorf("at: %q is not a time Whenever reads the same way every day (use forms like '4:30 am', '16:30', '04:30', 'noon')", s)
	if !ok {
		return clock{}, unreadable
	}
	bareAfterDate := named && !atSep && mer == "" && regexp.MustCompile(`^\d{1,4}$`).MatchString(fields[0])
	if bareAfterDate && atoi(fields[0]) == 0 {
		c.hour, c.min = 0, 0 // "March 3 0": Chronic and Whenever say midnight too
		return c, nil
	}
	// Chronic adds the parts up: 10:60 is 11:00, 25:43 is 1:43.
	tick := hour*60 + min
	const halfDay, day = 12 * 60, 24 * 60
	switch {
	case hours24 && mer == "pm":
		// Chronic reads only 12 pm; it gives up on the rest, and Whenever
		// silently schedules midnight.
		if tick < halfDay || tick >= halfDay+60 {
			return clock{}, fmt.Errorf("at: %q is a pm time, but chronic_options sets hours24: true, with which Whenever silently schedules it at midnight; write it as 24-hour time", s)
		}
	case hours24 && mer == "am":
		switch {
		case tick == halfDay:
			// Chronic gives up on "12am" too: Whenever's midnight is right,
			// its date is not.
			return clock{noDate: dated, month: c.month, day: c.day}, nil
		case tick >= halfDay:
			return clock{}, unreadable
		}
	case mer == "am":
		if tick >= halfDay {
			return clock{}, unreadable // "16:30am": Chronic gives up
		}
	case mer == "pm":
		switch {
		case tick >= day:
			return clock{}, unreadable
		case tick < halfDay && !ambiguous:
			return clock{}, unreadable // "0:30pm": Chronic gives up
		case tick < halfDay:
			tick += halfDay
		}
	case ambiguous && tick < 6*60:
		tick += halfDay // Chronic's ambiguous_time_range
	}
	if bareAfterDate {
		// Right after a date with a month name Chronic does not read a
		// bare number as the time ("March 3 0900", "December 31st 5"):
		// Whenever schedules noon, right only when the number says noon.
		if tick%day != halfDay {
			return clock{}, fmt.Errorf("at: %q: right after a date Chronic does not read %s as a time (Whenever would schedule noon): put \"at\" before it or use am/pm", s, fields[0])
		}
	}
	if tick > day && weekday {
		// past midnight after a weekday ("sunday at 25"): Chronic gives up
		return clock{}, unreadable
	}
	if tick >= day && c.month != 0 {
		// 25:00 on March 3 is 1:00 on March 4 (a year without Feb 29).
		next := time.Date(2027, time.Month(c.month), c.day+tick/day, 0, 0, 0, 0, time.UTC)
		c.month, c.day = int(next.Month()), next.Day()
	}
	tick %= day
	hour, min = tick/60, tick%60
	c.hour, c.min = hour, min
	return c, nil
}

func monthIndex(name string) int {
	if len(name) < 3 {
		return 0
	}
	for i, m := range months {
		if strings.HasPrefix(name, m) {
			full := []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}[i]
			if strings.HasPrefix(full, name) || name == m || name == "sept" {
				return i + 1
			}
		}
	}
	return 0
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
