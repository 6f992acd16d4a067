every 1.day, at: "3:00 am", roles: [:db] do
  rake "db:backup"
end

every 10.minutes, roles: [:app, :worker] do
  runner "Queue.monitor"
end

every 1.day, at: "4:00 am" do
  rake "tmp:clear", roles: [:app]
end
