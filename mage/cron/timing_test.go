package cron

import (
	"strings"
	"testing"
)

func secs(n, unit int64) Seconds { return Seconds(n * unit) }

// TestWheneverTimings covers the timings Whenever's own unit tests assert
// (test/unit/cron_test.rb), rendered by our timing function.
func TestWheneverTimings(t *testing.T) {
	none := atValue{}
	num := func(n int64) atValue { return atValue{num: n, given: n} }
	rng := func(lo, hi int64) atValue { return atValue{isRange: true, rng: Range{lo, hi}} }
	clk := func(s string) atValue {
		c, err := parseClock(s, false)
		if err != nil {
			t.Fatalf("parseClock(%q): %v", s, err)
		}
		return atValue{isClock: true, clock: c, given: s}
	}
	tests := []struct {
		every any
		at    atValue
		want  string
	}{
		{secs(1, minute), none, "* * * * *"},
		{secs(5, minute), none, "0,5,10,15,20,25,30,35,40,45,50,55 * * * *"},
		{secs(7, minute), none, "7,14,21,28,35,42,49,56 * * * *"},
		{secs(30, minute), none, "0,30 * * * *"},
		{secs(32, minute), none, "32 * * * *"},
		{secs(1, hour), none, "0 * * * *"},
		{secs(2, hour), none, "0 0,2,4,6,8,10,12,14,16,18,20,22 * * *"},
		{secs(3, hour), none, "0 0,3,6,9,12,15,18,21 * * *"},
		{secs(5, hour), none, "0 5,10,15,20 * * *"},
		{secs(17, hour), none, "0 17 * * *"},
		{secs(1, hour), num(30), "30 * * * *"},
		{secs(1, hour), rng(0, 59), "0-59 * * * *"},
		{secs(1, hour), clk("3:45 am"), "45 * * * *"},
		{secs(1, day), none, "0 0 * * *"},
		{secs(2, day), none, "0 0 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 * *"},
		{secs(4, day), none, "0 0 1,5,9,13,17,21,25,29 * *"},
		{secs(7, day), none, "0 0 1,8,15,22 * *"},
		{secs(16, day), none, "0 0 1,17 * *"},
		{secs(17, day), none, "0 0 17 * *"},
		{secs(29, day), none, "0 0 29 * *"},
		{secs(1, day), clk("3:45 pm"), "45 15 * * *"},
		{secs(1, day), num(3), "0 3 * * *"},
		{secs(1, day), rng(3, 5), "0 3-5 * * *"},
		{secs(1, month), none, "0 0 1 * *"},
		{secs(2, month), none, "0 0 1 1,3,5,7,9,11 *"},
		{secs(3, month), none, "0 0 1 1,4,7,10 *"},
		{secs(4, month), none, "0 0 1 1,5,9 *"},
		{secs(5, month), none, "0 0 1 1,6 *"},
		{secs(7, month), none, "0 0 1 7 *"},
		{secs(12, month), none, "0 0 1 12 *"},
		{secs(1, month), clk("5pm"), "0 17 1 * *"},
		{secs(1, month), clk("February 23rd at 2am"), "0 2 23 * *"},
		{secs(1, month), num(5), "0 0 5 * *"},
		{secs(1, month), rng(1, 5), "0 0 1-5 * *"},
		{secs(1, year), none, "0 0 1 1 *"},
		{secs(1, year), clk("5pm"), "0 17 1 1 *"},
		{secs(1, year), clk("February 23rd at 2am"), "0 2 23 2 *"},
		{secs(1, year), num(5), "0 0 1 5 *"},
		{secs(1, year), rng(3, 5), "0 0 1 3-5 *"},
		{Symbol("sunday"), none, "0 0 * * 0"},
		{"Monday", none, "0 0 * * 1"},
		{"friday", clk("1:30 pm"), "30 13 * * 5"},
		{"Monday", clk("2:22am"), "22 2 * * 1"},
		{"THU", clk("5:55PM"), "55 17 * * 4"},
		{"weekday", none, "0 0 * * 1-5"},
		{"Weekdays", clk("5:59 am"), "59 5 * * 1-5"},
		{"weekend", none, "0 0 * * 6,0"},
		{"Weekends", clk("6:02PM"), "2 18 * * 6,0"},
		{Symbol("reboot"), none, "@reboot"},
		{Symbol("annually"), none, "@annually"},
		{Symbol("yearly"), none, "@yearly"},
		{Symbol("daily"), none, "@daily"},
		{Symbol("midnight"), none, "@midnight"},
		{Symbol("monthly"), none, "@monthly"},
		{Symbol("weekly"), none, "@weekly"},
		{Symbol("hourly"), none, "@hourly"},
		{Symbol("month"), none, "0 0 1 * *"},
		{Symbol("day"), none, "0 0 * * *"},
		{Symbol("hour"), none, "0 * * * *"},
		{Symbol("year"), none, "0 0 1 1 *"},
		{Symbol("week"), none, "0 0 1,8,15,22 * *"},
		{"0 0 27-31 * *", none, "0 0 27-31 * *"},
	}
	for _, tc := range tests {
		got, err := timing(tc.every, tc.at)
		if err != nil || got != tc.want {
			t.Errorf("timing(%v, %+v) = %q, %v; want %q", tc.every, tc.at.given, got, err, tc.want)
		}
	}
	// Every minute count 1-59 lands on the expected minutes.
	for n := int64(1); n < 60; n++ {
		got, err := timing(secs(n, minute), none)
		if err != nil || !strings.HasSuffix(got, " * * * *") {
			t.Errorf("%d minutes: %q %v", n, got, err)
		}
	}
}

func TestTimingErrors(t *testing.T) {
	bad := []struct {
		every any
		at    atValue
		want  string
	}{
		{secs(59, 1), atValue{}, "minutes or higher"},
		{secs(0, minute), atValue{}, "minutes or higher"},
		{secs(1, hour), atValue{num: 60}, "Minute must be between 0-59, 60 given"},
		{secs(1, hour), atValue{num: -1}, "Minute must be between 0-59, -1 given"},
		{secs(1, hour), atValue{isRange: true, rng: Range{0, 60}}, "60 given"},
		{secs(1, day), atValue{num: 24}, "Hour must be between 0-23, 24 given"},
		{secs(1, month), atValue{num: 32}, "Day must be between 1-31"},
		{secs(1, month), atValue{isRange: true, rng: Range{0, 30}}, "0 given"},
		{secs(1, year), atValue{num: 13}, "Month must be between 1-12"},
		{Symbol("hourly"), atValue{isClock: true, given: "1:00 am"}, "cannot specify an :at"},
		{Symbol("reboot"), atValue{num: 5}, "cannot specify an :at"},
		{"sometimes", atValue{}, "couldn't parse"},
		{secs(2, year), atValue{}, "longer than a year"},
	}
	for _, tc := range bad {
		if _, err := timing(tc.every, tc.at); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("timing(%v, %+v) = %v, want an error containing %q", tc.every, tc.at, err, tc.want)
		}
	}
}

func TestParseClock(t *testing.T) {
	good := map[string]clock{
		"4:30 am": {hour: 4, min: 30}, "4:30": {hour: 16, min: 30}, "7:30": {hour: 7, min: 30},
		"12pm": {hour: 12}, "12am": {hour: 0}, "noon": {hour: 12}, "midnight": {},
		"13:59": {hour: 13, min: 59}, "4 pm": {hour: 16}, "4:30 a.m.": {hour: 4, min: 30},
		"jan 15 at 3:00pm": {hour: 15, month: 1, day: 15}, "3/15 4:30 am": {hour: 4, min: 30, month: 3, day: 15},
		"15th of March 4am": {hour: 4, month: 3, day: 15}, "tuesday 4pm": {hour: 16},
		// Chronic: a leading zero makes the hour unambiguous; dots are colons.
		"04:30": {hour: 4, min: 30}, "0430": {hour: 4, min: 30}, "430": {hour: 16, min: 30}, "1.15am": {hour: 1, min: 15},
		"10.30": {hour: 10, min: 30}, "13pm": {hour: 13}, "24:30": {min: 30}, "4:30:15": {hour: 16, min: 30},
		"25:00": {hour: 1}, "4:75 pm": {hour: 17, min: 15}, "12 noon": {hour: 12},
	}
	for in, want := range good {
		if got, err := parseClock(in, false); err != nil || got != want {
			t.Errorf("parseClock(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if got, _ := parseClock("4:30", true); got.hour != 4 {
		t.Errorf("hours24 4:30 = %+v", got)
	}
	if got, err := parseClock("4:30 am", true); err != nil || got.hour != 4 {
		t.Errorf("hours24 4:30 am = %+v, %v (Chronic reads am times with hours24)", got, err)
	}
	for _, bad := range []string{"3pm", "0:30pm", "12:30am"} {
		if _, err := parseClock(bad, true); err == nil {
			t.Errorf("hours24 parseClock(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"soon", "16:30am", "0:30pm", "Smarch 3 4pm", "noonish", "15th at 4am"} {
		if _, err := parseClock(bad, false); err == nil {
			t.Errorf("parseClock(%q) accepted", bad)
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := map[string]string{
		"every 1.day do\n  runner 'A'\n  deliver 'B'\nend\n": "s.rb:3: unknown method \"deliver\"",
		"every 1.day do\n  runner 'A'\n":                     "s.rb:3: missing end",
		"set :output, File.join('log', 'cron.log')\n":        "s.rb:1:",
		"runner 'A'\n": "s.rb:1: job runner outside an every block",
		"every 1.day do\n  runner 'A' if ENV['X']\nend\n":                                   "s.rb:2: 'runner ... if/unless' modifiers are not supported",
		"if Rails.env.production?\n every 1.day do\n end\nend\n":                            "s.rb:1: unknown name \"Rails\"",
		"every 1.day, at: '4:30 am' do\n  runner \"#{x}\"\nend\n":                           "s.rb:2:",
		"every 1.day do\n  runner 'ok'\nend\nevery 1.day, at: 'soon' do\n  rake 'x'\nend\n": "s.rb:5: at: \"soon\" is not a time",
	}
	checkRefusals(t, cases)
}

// The forms of issue 28 that Whenever misreads: refused, naming the line
// and saying what Whenever would do.
func TestRefusedFormsSayWhatWheneverWouldDo(t *testing.T) {
	cases := map[string]string{
		"every 1.month, at: '15th' do\n  rake 'x'\nend\n":                        "s.rb:2: at: 15th: Chronic reads no date in a day of the month alone",
		"every 2.months, at: 'last day' do\n  rake 'x'\nend\n":                   `Chronic reads "last day" as yesterday at noon`,
		"every 1.year, at: '1st' do\n  rake 'x'\nend\n":                          "midnight on the 1st",
		"every 1.month, at: 'beginning of the month' do\n  rake 'x'\nend\n":      "names no time (Whenever would use noon)",
		"every 1.day, at: 'beginning of the month at 2am' do\n  rake 'x'\nend\n": "runs more often than monthly",
		"every :monday, at: 'start of the month at 2am' do\n  rake 'x'\nend\n":   "runs weekly or on set days",
		"every 1.day, at: '12noon' do\n  rake 'x'\nend\n":                        "Chronic reads noon only after a separate 12:00",
		"every 1.day, at: '12:30 midnight' do\n  rake 'x'\nend\n":                "12:30 is not midnight",
		"every 1.hour, at: %i(10 20) do\n  rake 'x'\nend\n":                      "at: :10 is a symbol",
		"every 1.hour, at: 5...5 do\n  rake 'x'\nend\n":                          "s.rb:1: 5...5 is an empty range",
		"every 1.hour, at: 9..3 do\n  rake 'x'\nend\n":                           "9..3 is an empty range",
		"every 30.minutes, at: 58..60 do\n  rake 'x'\nend\n":                     "at: 60 is not a minute",
		"every 1.day, at: %W(#{x} 4pm) do\n  rake 'x'\nend\n":                    "#{...} inside %W() is not supported",
		"every 1.day, at: %w(4pm 5pm do\n  rake 'x'\nend\n":                      "unterminated %w literal",
	}
	checkRefusals(t, cases)
}

// checkRefusals parses each schedule (as s.rb) and renders its crontab,
// and wants an error containing the text given for it.
func checkRefusals(t *testing.T, cases map[string]string) {
	t.Helper()
	for src, want := range cases {
		s, err := Parse("s.rb", src, ParseOptions{Root: "/app"})
		if err == nil {
			_, err = s.Crontab()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("schedule:\n%s\nerror = %v, want it to contain %q", src, err, want)
		}
	}
}
