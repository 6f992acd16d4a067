package cron

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

var shortcuts = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// EventBridge converts a Unix cron time spec (five fields or an
// @shortcut) into EventBridge Scheduler cron() expressions that fire at
// exactly the same instants. Unix cron runs a job when EITHER a restricted
// day-of-month OR a restricted day-of-week matches; Scheduler needs "?" in
// one of them, so such a spec becomes two expressions. rate() is never
// used: it counts from the schedule's creation, not from the clock, so it
// does not fire at the same instants as a cron line.
func EventBridge(spec string) ([]string, error) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "@") {
		if spec == "@reboot" {
			return nil, fmt.Errorf("@reboot runs when a machine boots; a scheduled task has no such moment (run it from the container's entrypoint instead)")
		}
		s, ok := shortcuts[strings.ToLower(spec)]
		if !ok {
			return nil, fmt.Errorf("unknown shortcut %s", spec)
		}
		spec = s
	}
	f := strings.Fields(spec)
	if len(f) != 5 {
		return nil, fmt.Errorf("%q has %d fields, want 5", spec, len(f))
	}
	minute, err := ebField(f[0], 0, 59, nil)
	if err != nil {
		return nil, fmt.Errorf("minute %q: %w", f[0], err)
	}
	hour, err := ebField(f[1], 0, 23, nil)
	if err != nil {
		return nil, fmt.Errorf("hour %q: %w", f[1], err)
	}
	dom, err := ebField(f[2], 1, 31, nil)
	if err != nil {
		return nil, fmt.Errorf("day of month %q: %w", f[2], err)
	}
	mon, err := ebField(f[3], 1, 12, months)
	if err != nil {
		return nil, fmt.Errorf("month %q: %w", f[3], err)
	}
	dowSet, err := expand(f[4], 0, 7, days)
	if err != nil {
		return nil, fmt.Errorf("day of week %q: %w", f[4], err)
	}
	dow := ebDays(dowSet)
	domStar, dowStar := f[2] == "*", f[4] == "*"
	domStarry, dowStarry := strings.HasPrefix(f[2], "*"), strings.HasPrefix(f[4], "*")
	expr := func(d, w string) string { return fmt.Sprintf("cron(%s %s %s %s %s *)", minute, hour, d, mon, w) }
	switch {
	case domStar && dowStar:
		return []string{expr("*", "?")}, nil
	case dowStar:
		return []string{expr(dom, "?")}, nil
	case domStar:
		return []string{expr("?", dow)}, nil
	case domStarry || dowStarry:
		// Vixie cron ANDs the two fields when either starts with "*"
		// (e.g. */2): Scheduler cannot restrict both at once.
		return nil, fmt.Errorf("%q restricts day of month and day of week together (%s and %s); Scheduler can restrict only one, and splitting would not be exact", spec, f[2], f[4])
	default:
		return []string{expr(dom, "?"), expr("?", dow)}, nil
	}
}

// ebField rewrites a minute/hour/day/month field: Scheduler takes the same
// numbers, names, ranges and lists, but writes "*/n" as "start/n".
func ebField(field string, lo, hi int, names []string) (string, error) {
	if _, err := expand(field, lo, hi, names); err != nil {
		return "", err
	}
	parts := strings.Split(field, ",")
	for i, p := range parts {
		if strings.HasPrefix(p, "*/") {
			parts[i] = strconv.Itoa(lo) + p[1:]
		}
	}
	return strings.ToUpper(strings.Join(parts, ",")), nil
}

// ebDays writes a set of Unix days (0-6, Sunday 0) as Scheduler's 1-7
// (Sunday 1), as a compact list.
func ebDays(set map[int]bool) string {
	var vals []int
	for d := range set {
		vals = append(vals, d%7+1)
	}
	sort.Ints(vals)
	vals = dedupe(vals)
	if len(vals) == 7 {
		return "*"
	}
	var parts []string
	for i := 0; i < len(vals); {
		j := i
		for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, fmt.Sprintf("%d-%d", vals[i], vals[j]))
		} else {
			for k := i; k <= j; k++ {
				parts = append(parts, strconv.Itoa(vals[k]))
			}
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func dedupe(v []int) []int {
	var out []int
	for i, x := range v {
		if i == 0 || x != v[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// expand turns a Unix cron field into the set of values it matches.
func expand(field string, lo, hi int, names []string) (map[int]bool, error) {
	set := map[int]bool{}
	for _, part := range strings.Split(field, ",") {
		if part == "" {
			return nil, fmt.Errorf("empty list item")
		}
		rangePart, step := part, 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad step in %q", part)
			}
			rangePart, step = part[:i], n
		}
		var a, b int
		switch {
		case rangePart == "*":
			a, b = lo, hi
			if hi == 7 {
				b = 6 // day of week: 7 is Sunday again
			}
		case strings.Contains(rangePart, "-"):
			x, y, _ := strings.Cut(rangePart, "-")
			var err error
			if a, err = value(x, lo, hi, names); err != nil {
				return nil, err
			}
			if b, err = value(y, lo, hi, names); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("range %q runs backwards", rangePart)
			}
		default:
			v, err := value(rangePart, lo, hi, names)
			if err != nil {
				return nil, err
			}
			a, b = v, v
			if step > 1 {
				b = hi // "5/15" means from 5 on
			}
		}
		for v := a; v <= b; v += step {
			if hi == 7 && v == 7 {
				set[0] = true
				continue
			}
			set[v] = true
		}
	}
	return set, nil
}

func value(s string, lo, hi int, names []string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < lo || n > hi {
			return 0, fmt.Errorf("%d is outside %d-%d", n, lo, hi)
		}
		return n, nil
	}
	for i, name := range names {
		if strings.EqualFold(s, name) {
			if len(names) == 12 {
				return i + 1, nil
			}
			return i, nil
		}
	}
	return 0, fmt.Errorf("%q is not a number%s", s, map[bool]string{true: " or a name", false: ""}[names != nil])
}
