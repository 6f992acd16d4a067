# The example app's Whenever schedule (formerly run by a Lambda calling an
# HTTP endpoint). `mage cron:generate` turns it into Scheduler schedules.
set :output, "log/cron.log"

every 1.minute do
  runner "Inventory.sync_pending"
end

every 1.day, at: "2:30 am" do
  runner "Reports::Daily.deliver"
  rake "sitemap:refresh"
end

every :weekday, at: "9:00 am" do
  rake "orders:remind_unpaid"
end

every 1.month, at: 1 do
  rake "billing:invoice"
end
