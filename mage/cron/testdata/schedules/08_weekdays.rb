every :weekday, at: "9:00 am" do
  runner "Standup.remind"
end

every :weekend, at: "10:30 am" do
  command "echo weekend"
end

every "Monday", at: "2:22am" do
  rake "reports:weekly"
end

every :friday, at: "1:30 pm" do
  runner "Payroll.prepare"
end
