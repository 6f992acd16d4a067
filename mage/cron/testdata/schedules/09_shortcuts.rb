every :reboot do
  command "/usr/bin/start-worker"
end

every :hourly do
  rake "stats:rollup"
end

every :daily do
  runner "Cleanup.run"
end

every :weekly do
  command "echo weekly"
end

every :monthly do
  command "echo monthly"
end
