every 1.day, at: "4:30" do
  command "ambiguous-afternoon"
end

every 1.day, at: "7:30" do
  command "ambiguous-morning"
end

every 1.day, at: "13:59" do
  command "twenty-four-hour"
end
