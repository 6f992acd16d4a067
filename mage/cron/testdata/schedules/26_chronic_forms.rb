# Time forms Chronic reads that the toolkit once misread or refused
# (found by the differential fuzzer, TestChronicParityWithWhenever).
every 1.day, at: '04:30' do
  rake 'padded:morning'
end

every 1.day, at: '0430' do
  rake 'digits:morning'
end

every 1.day, at: '430' do
  rake 'digits:afternoon'
end

every 1.day, at: '1.15am' do
  rake 'dotted:am'
end

every 1.day, at: '10.30' do
  rake 'dotted:morning'
end

every :weekday, at: '12 noon' do
  runner 'Lunch.remind'
end

every 1.day, at: '13pm' do
  command 'echo thirteen'
end

every 1.day, at: '24:30' do
  command 'echo half-past-midnight'
end

every 1.day, at: '10:60 am' do
  command 'echo eleven'
end

every 1.month, at: '3/15 at 2100' do
  rake 'billing:close'
end

every 1.month, at: 'March 3 at 0453' do
  rake 'billing:early'
end

every :monday, at: 'monday 0453' do
  rake 'weekly:early'
end

every 1.month, at: '3rd of March at 25:00:32' do
  rake 'rollover:next_day'
end

every 1.day, at: '4:30:15 p.m.' do
  rake 'seconds:dropped'
end
