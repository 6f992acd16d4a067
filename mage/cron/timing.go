package cron

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
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

var (
	meridianRE = regexp.MustCompile(`(?i)^(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?|a|p)?$`)
	monthDayRE = regexp.MustCompile(`(?i)^([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?(?:\s+(?:at\s+)?(.*))?$`)
	dayMonthRE = regexp.MustCompile(`(?i)^(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\.?(?:\s+(?:at\s+)?(.*))?$`)
	slashRE    = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})(?:/\d{2,4})?(?:\s+(?:at\s+)?(.*))?$`)
	weekdayRE  = regexp.MustCompile(`(?i)^(sun|mon|tue|tues|wed|thu|thur|thurs|fri|sat)[a-z]*\.?\s+(?:at\s+)?(.*)$`)
)

// parseClock reads an at: string the way Chronic does for the forms
// schedule files use. With hours24, times written with am/pm are refused:
// Chronic gives up on them and Whenever would silently use midnight.
func parseClock(s string, hours24 bool) (clock, error) {
	in := strings.TrimSpace(s)
	lower := strings.ToLower(in)
	var c clock
	rest := lower
	if m := monthDayRE.FindStringSubmatch(lower); m != nil && monthIndex(m[1]) > 0 {
		c.month, c.day = monthIndex(m[1]), atoi(m[2])
		rest = m[3]
	} else if m := dayMonthRE.FindStringSubmatch(lower); m != nil && monthIndex(m[2]) > 0 {
		c.day, c.month = atoi(m[1]), monthIndex(m[2])
		rest = m[3]
	} else if m := slashRE.FindStringSubmatch(lower); m != nil {
		c.month, c.day = atoi(m[1]), atoi(m[2])
		rest = m[3]
	} else if m := weekdayRE.FindStringSubmatch(lower); m != nil {
		rest = m[2]
	}
	if c.month > 12 || c.day > 31 || (c.month != 0 && c.month < 1) || (c.month != 0 && c.day < 1) {
		return clock{}, fmt.Errorf("at: %q is not a valid date", s)
	}
	rest = strings.TrimSpace(rest)
	switch rest {
	case "":
		if c.month == 0 {
			return clock{}, fmt.Errorf("at: %q is not a time", s)
		}
		c.hour = 12 // Chronic: a bare date means noon
		return c, nil
	case "midnight":
		return c, nil
	case "noon", "12 noon":
		c.hour = 12
		return c, nil
	}
	m := meridianRE.FindStringSubmatch(rest)
	if m == nil {
		return clock{}, fmt.Errorf("at: %q is not a time Whenever can read the same way every day (use forms like '4:30 am', '16:30', 'noon')", s)
	}
	h, min := atoi(m[1]), 0
	if m[2] != "" {
		min = atoi(m[2])
	}
	if min > 59 {
		return clock{}, fmt.Errorf("at: %q has minute %d", s, min)
	}
	mer := strings.ReplaceAll(m[3], ".", "")
	switch {
	case mer != "" && hours24:
		return clock{}, fmt.Errorf("at: %q uses am/pm, but chronic_options sets hours24: true, with which Whenever silently schedules it at midnight; write it as 24-hour time", s)
	case mer != "":
		if h < 1 || h > 12 {
			return clock{}, fmt.Errorf("at: %q has hour %d with %s", s, h, m[3])
		}
		if h == 12 {
			h = 0
		}
		if mer[0] == 'p' {
			h += 12
		}
	case h > 23:
		return clock{}, fmt.Errorf("at: %q has hour %d", s, h)
	case !hours24 && h >= 1 && h < 6:
		// Chronic's ambiguous_time_range (6): 1:00-5:59 without am/pm is afternoon.
		h += 12
	}
	c.hour, c.min = h, min
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
