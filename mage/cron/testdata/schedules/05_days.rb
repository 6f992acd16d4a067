every 2.days, at: "4:30 am" do
  runner "Archive.compact"
end

every 1.week do
  rake "orders:weekly_summary"
end

every 4.days do
  command "/usr/local/bin/rotate"
end

every 1.day, at: ["6:00 am", "6:00 pm"] do
  runner "Digest.send_all"
end
