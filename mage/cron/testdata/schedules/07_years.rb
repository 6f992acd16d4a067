every 1.year, at: "January 1st 3:00am" do
  rake "archive:yearly"
end

every :year do
  runner "Yearly.report"
end

every 1.year, at: 7 do
  command "echo july"
end
