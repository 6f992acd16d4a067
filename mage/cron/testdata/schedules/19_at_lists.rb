every 1.day, at: "4:30 am, 6:30 pm" do
  runner "Twice.daily"
end

every 1.day, at: ["12:00 am", "noon", "midnight"] do
  command "echo three"
end

every :weekday, at: ["8:00 am", "8:30 am"] do
  runner "Morning.prepare"
end
