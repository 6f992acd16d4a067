set :chronic_options, hours24: true

every 1.day, at: "4:30" do
  rake "early:task"
end

every 1.day, at: "16:45" do
  rake "late:task"
end
