set :output, "/var/log/shop/cron.log"

every 1.day, at: "12:15 am" do
  runner "Reports.midnight"
  rake "quiet:task", output: nil
  command "loud", output: { error: "/var/log/shop/errors.log" }
  command "split", output: { standard: "/var/log/out.log", error: nil }
end
