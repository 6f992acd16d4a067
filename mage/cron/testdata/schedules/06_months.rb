every 1.month, at: "February 23rd at 2am" do
  rake "billing:invoice"
end

every 3.months do
  runner "Quarterly.close"
end

every 1.month, at: 15 do
  command "echo mid-month"
end

every :month do
  rake "billing:remind"
end
