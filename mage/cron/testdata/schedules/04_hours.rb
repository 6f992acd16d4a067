every 2.hours do
  runner "Cache.warm"
end

every 3.hours, at: 15 do
  rake "feeds:import"
end

every 1.hour, at: [5, 35] do
  runner "Metrics.flush"
end

every 17.hours do
  command "echo seventeen"
end
