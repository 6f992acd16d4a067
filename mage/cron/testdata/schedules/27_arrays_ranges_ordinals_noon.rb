# Forms the differential fuzzer did not generate before (issue 28), each
# compared with the real whenever's crontab by TestFixturesMatchWhenever.

# Arrays as %w(), %W[] and %w with an escaped space: each element a time.
every 1.day, at: %w(4:30am 6:00pm) do
  rake "reports:twice"
end

every :day, at: %W[4:30\ am 6pm] do
  rake "reports:again"
end

every 1.hour, at: %w(10 20) do
  runner "Ping.send"
end

# Ranges, inclusive and exclusive: minutes, hours, days.
every 1.hour, at: 1..5 do
  rake "minutes:inclusive"
end

every 1.hour, at: 1...5 do
  rake "minutes:exclusive"
end

every 1.day, at: 1..3 do
  rake "hours:inclusive"
end

every 1.month, at: 10...12 do
  rake "days:exclusive"
end

# The first of the month: alone, and in Chronic's phrases with a time.
every 1.month, at: '1st' do
  rake "monthly:first"
end

every 3.months, at: '1st' do
  rake "quarterly:first"
end

every 1.month, at: 'beginning of the month at 2am' do
  rake "monthly:beginning"
end

every 1.month, at: 'start of the month at 4:30pm' do
  rake "monthly:start"
end

every 1.month, at: 'Beginning of month at 14:00' do
  rake "monthly:fourteen"
end

# Noon and midnight after a clock.
every 1.day, at: '12:00 noon' do
  rake "noon:colon"
end

every 1.day, at: '1200 noon' do
  rake "noon:digits"
end

every 1.day, at: '12 at noon' do
  rake "noon:at"
end

every 1.day, at: '12:00 midnight' do
  rake "midnight:colon"
end

every 1.day, at: '12midnight' do
  rake "midnight:attached"
end

every 1.day, at: '0:00 midnight' do
  rake "midnight:zero"
end
