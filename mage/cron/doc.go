// Package cron reads Whenever's config/schedule.rb without Ruby: a parser
// for the subset of Ruby that schedule files use, Whenever's timing rules
// (the crontab it would print), and EventBridge Scheduler expressions that
// fire at exactly the same instants.
package cron
