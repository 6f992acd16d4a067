every 1.hour, at: 10..20 do
  command "echo minutes-range"
end

every 1.day, at: 9..17 do
  runner "Business.hours"
end

every 1.month, at: 1..7 do
  rake "first:week"
end
