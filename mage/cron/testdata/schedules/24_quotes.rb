every 1.day, at: "3:00 am" do
  runner "Mailer.deliver('daily', force: true)"
  command "echo \"it's 100% done\""
  rake "reports:run[2026]"
end
