every "0 0 27-31 * *" do
  command "echo 'you can use raw cron syntax too'"
end

every "*/10 9-17 * * 1-5" do
  runner "Support.escalate"
end

every "30 4 1,15 * *" do
  rake "billing:sweep"
end

every "@daily" do
  command "echo at-daily"
end
