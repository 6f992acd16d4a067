every 1.hour, mailto: "ops@example.com" do
  command "check_disk"
end

every 1.hour do
  command "check_memory"
  command "check_swap", mailto: "sre@example.com"
end

every 1.day, mailto: "ops@example.com" do
  rake "logs:ship"
end
