# Nightly reports for the shop.
set :output, { standard: "log/cron.log", error: "log/cron_error.log" }
set :environment, "production"

every 1.day, at: "2:30 am" do
  runner "Reports::Daily.deliver"
  rake "sitemap:refresh"
end

every :sunday, at: "4:00 am" do
  rake "db:sessions:trim"
end
