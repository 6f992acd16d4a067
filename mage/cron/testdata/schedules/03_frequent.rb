every 1.minute do
  runner "Inventory.sync_pending"
end

every 5.minutes do
  rake "queue:heartbeat"
end

every 15.minutes do
  command "curl -fsS https://example.com/health > /dev/null"
end
