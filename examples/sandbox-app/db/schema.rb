# This file is auto-generated from the current state of the database.
ActiveRecord::Schema.define(version: 2026_11_01_000000) do
  create_table "orders", charset: "utf8mb4", force: :cascade do |t|
    t.integer "total_cents", null: false
    t.datetime "paid_at"
    t.datetime "created_at", precision: 6, null: false
    t.datetime "updated_at", precision: 6, null: false
  end
end
